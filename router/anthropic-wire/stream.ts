/**
 * Streams both ways. Pure.
 *
 * StreamTranslator (the provider adapter): Anthropic SSE events → OpenAI chunks. message_start → a role chunk;
 * text deltas → content chunks; tool_use blocks and input_json deltas → tool_calls deltas (OpenAI indexes tools
 * 0..n, not by content block); message_delta → the finish_reason chunk; message_stop → the final usage chunk.
 *
 * MessageEncoder (the /v1/messages endpoint): OpenAI chunks → Anthropic events. The first chunk → message_start;
 * choice 0's text → a text block (content_block_start, text_delta…); each tool call → a tool_use block with its
 * arguments as input_json_delta; a block closes (content_block_stop) when the next one starts or the answer
 * finishes; end() → message_delta (stop_reason, usage) and message_stop.
 */
import { isRecord, str } from "../config/json.js";
import type { ChatCompletionChunk, JsonObject, Usage } from "../openai/types.js";
import {
  anthropicErrorBody,
  finishReason,
  readUsage,
  statusOfErrorType,
  stopReason,
  toAnthropicUsage,
  toOpenAIUsage,
  type AnthropicUsage,
  type BilledTokens,
} from "./tables.js";

/** What one Anthropic stream event means for the OpenAI stream. */
export type StreamStep =
  | { type: "chunk"; chunk: ChatCompletionChunk }
  | { type: "none" }
  | { type: "done"; chunk: ChatCompletionChunk }
  | { type: "error"; status: number; message: string };

const NONE: StreamStep = { type: "none" };

/** Translates one Anthropic stream's events, in order, into OpenAI chunks. */
export class StreamTranslator {
  private id = "";
  private model: string;
  private readonly usage: AnthropicUsage = { input: 0, output: 0, cacheCreation: 0, cacheRead: 0 };
  /** Content block index → OpenAI tool index (−1: not a tool block). */
  private readonly toolIndex: number[] = [];
  private tools = 0;

  constructor(
    model: string,
    private readonly createdSec: number,
  ) {
    this.model = model;
  }

  step(event: unknown): StreamStep {
    if (!isRecord(event)) return NONE;
    switch (event["type"]) {
      case "message_start":
        return this.start(event["message"]);
      case "content_block_start":
        return this.blockStart(event["index"], event["content_block"]);
      case "content_block_delta":
        return this.blockDelta(event["index"], event["delta"]);
      case "message_delta":
        return this.messageDelta(event);
      case "message_stop":
        return { type: "done", chunk: this.chunk([], toOpenAIUsage(this.usage)) };
      case "error":
        return errorStep(event["error"]);
      default:
        return NONE; // ping, content_block_stop, and event types added later
    }
  }

  private start(message: unknown): StreamStep {
    if (isRecord(message)) {
      this.id = str(message["id"]) ?? "";
      this.model = str(message["model"]) ?? this.model;
      readUsage(message["usage"], this.usage);
    }
    return this.delta({ role: "assistant", content: "" }, null);
  }

  private blockStart(index: unknown, block: unknown): StreamStep {
    if (typeof index !== "number" || !isRecord(block)) return NONE;
    if (block["type"] === "text") {
      const text = str(block["text"]) ?? "";
      return text.length > 0 ? this.delta({ content: text }, null) : NONE;
    }
    if (block["type"] !== "tool_use") return NONE;
    return this.toolStart(index, block);
  }

  private toolStart(index: number, block: JsonObject): StreamStep {
    const tool = this.tools++;
    this.toolIndex[index] = tool;
    const input = block["input"];
    const args = isRecord(input) && Object.keys(input).length > 0 ? JSON.stringify(input) : "";
    const call = {
      index: tool,
      id: str(block["id"]) ?? "",
      type: "function",
      function: { name: str(block["name"]) ?? "", arguments: args },
    };
    return this.delta({ tool_calls: [call] }, null);
  }

  private blockDelta(index: unknown, delta: unknown): StreamStep {
    if (!isRecord(delta)) return NONE;
    if (delta["type"] === "text_delta") {
      const text = str(delta["text"]);
      return text === null || text.length === 0 ? NONE : this.delta({ content: text }, null);
    }
    if (delta["type"] !== "input_json_delta" || typeof index !== "number") return NONE;
    const tool = this.toolIndex[index];
    const partial = str(delta["partial_json"]);
    if (tool === undefined || partial === null || partial.length === 0) return NONE;
    return this.delta({ tool_calls: [{ index: tool, function: { arguments: partial } }] }, null);
  }

  private messageDelta(event: JsonObject): StreamStep {
    readUsage(event["usage"], this.usage);
    const delta = event["delta"];
    const reason = isRecord(delta) ? finishReason(delta["stop_reason"]) : null;
    return reason === null ? NONE : this.delta({}, reason);
  }

  private delta(delta: JsonObject, finish: string | null): StreamStep {
    return { type: "chunk", chunk: this.chunk([{ index: 0, delta, logprobs: null, finish_reason: finish }], null) };
  }

  private chunk(choices: unknown[], usage: Usage | null): ChatCompletionChunk {
    const chunk: ChatCompletionChunk = {
      id: this.id,
      object: "chat.completion.chunk",
      created: this.createdSec,
      model: this.model,
      choices,
    };
    if (usage !== null) chunk.usage = usage;
    return chunk;
  }
}

function errorStep(error: unknown): StreamStep {
  const type = isRecord(error) ? error["type"] : undefined;
  const message = (isRecord(error) ? str(error["message"]) : null) ?? "unknown error";
  return { type: "error", status: statusOfErrorType(type), message };
}

// ---------------------------------------------------------------------------------------------------------------
// OpenAI chunks → Anthropic events

/** One Anthropic server-sent event: its `event:` name and its `data:` object (whose `type` is the same name). */
export interface AnthropicEvent {
  event: string;
  data: JsonObject;
}

interface OpenBlock {
  index: number;
  /** The OpenAI tool index of a tool_use block; null for a text block. */
  tool: number | null;
}

interface ToolDelta {
  index?: unknown;
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown };
}

function event(type: string, fields: JsonObject = {}): AnthropicEvent {
  return { event: type, data: { type, ...fields } };
}

/** Encodes one OpenAI stream as Anthropic events; choice 0 only (Anthropic answers have one). */
export class MessageEncoder {
  private started = false;
  private open: OpenBlock | null = null;
  private blocks = 0;
  /** OpenAI tool index → content block index. */
  private readonly toolBlocks = new Map<number, number>();
  private stop = "end_turn";

  /** `inputTokens`: the estimate message_start carries (the exact count follows in message_delta). */
  constructor(private readonly head: { model: string; inputTokens: number }) {}

  chunk(chunk: ChatCompletionChunk): AnthropicEvent[] {
    const out = this.start(chunk.id, chunk.model);
    for (const choice of chunk.choices) {
      if (!isRecord(choice) || (choice["index"] ?? 0) !== 0) continue;
      const delta = isRecord(choice["delta"]) ? choice["delta"] : {};
      this.text(delta["content"], out);
      for (const call of Array.isArray(delta["tool_calls"]) ? (delta["tool_calls"] as unknown[]) : [])
        if (isRecord(call)) this.toolCall(call, out);
      if (typeof choice["finish_reason"] === "string") this.finish(choice["finish_reason"], out);
    }
    return out;
  }

  /** message_delta with the stop reason and the billed usage (plus `extra` fields), then message_stop. */
  end(tokens: BilledTokens, extra: JsonObject = {}): AnthropicEvent[] {
    const out = this.start("", this.head.model);
    this.close(out);
    out.push(
      event("message_delta", {
        delta: { stop_reason: this.stop, stop_sequence: null },
        usage: toAnthropicUsage(tokens),
        ...extra,
      }),
    );
    out.push(event("message_stop"));
    return out;
  }

  /** The `error` event a failed stream ends with. */
  static error(status: number, message: string): AnthropicEvent {
    return { event: "error", data: anthropicErrorBody(status, message) };
  }

  private start(id: string, model: string): AnthropicEvent[] {
    if (this.started) return [];
    this.started = true;
    const message = {
      id,
      type: "message",
      role: "assistant",
      model: model === "" ? this.head.model : model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: this.head.inputTokens, output_tokens: 0 },
    };
    return [event("message_start", { message })];
  }

  private text(content: unknown, out: AnthropicEvent[]): void {
    if (typeof content !== "string" || content.length === 0) return;
    let block = this.open;
    if (block === null || block.tool !== null) {
      this.close(out);
      block = { index: this.blocks++, tool: null };
      this.open = block;
      out.push(event("content_block_start", { index: block.index, content_block: { type: "text", text: "" } }));
    }
    out.push(event("content_block_delta", { index: block.index, delta: { type: "text_delta", text: content } }));
  }

  private toolCall(call: ToolDelta, out: AnthropicEvent[]): void {
    const tool = typeof call.index === "number" ? call.index : 0;
    let index = this.toolBlocks.get(tool);
    if (index === undefined) {
      this.close(out);
      index = this.blocks++;
      this.toolBlocks.set(tool, index);
      this.open = { index, tool };
      const block = { type: "tool_use", id: str(call.id) ?? "", name: str(call.function?.name) ?? "", input: {} };
      out.push(event("content_block_start", { index, content_block: block }));
    }
    const partial = str(call.function?.arguments) ?? "";
    if (partial.length > 0)
      out.push(event("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: partial } }));
  }

  private finish(reason: string, out: AnthropicEvent[]): void {
    this.stop = stopReason(reason);
    this.close(out);
  }

  private close(out: AnthropicEvent[]): void {
    if (this.open === null) return;
    out.push(event("content_block_stop", { index: this.open.index }));
    this.open = null;
  }
}
