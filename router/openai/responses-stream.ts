/**
 * Chat completion chunks as OpenAI Responses API streaming events: response.created and response.in_progress
 * first; choice 0's text as a message item (output_item.added, content_part.added, output_text.delta…), each tool
 * call as a function_call item (output_item.added, function_call_arguments.delta…); at the end every item's
 * …done events in output order and response.completed with the whole response (or response.failed). Every event
 * has its type and a sequence_number counting from 0.
 */
import { isRecord } from "../config/json.js";
import type { ChatCompletionChunk, JsonObject, Usage } from "./types.js";
import {
  functionCallItemId,
  messageItemId,
  outputText,
  responseShell,
  responseUsage,
  statusOf,
  type ResponseEcho,
} from "./responses-output.js";

export interface ResponseEvent extends JsonObject {
  type: string;
  sequence_number: number;
}

type Item =
  | { kind: "message"; id: string; text: string }
  | { kind: "call"; id: string; callId: string; name: string; args: string };

interface ToolCallDelta {
  index?: unknown;
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown };
}

export class ResponsesStream {
  private seq = 0;
  private model = "";
  private readonly items: Item[] = [];
  private messageAt: number | null = null;
  /** Output index by the chat tool call index. */
  private readonly calls = new Map<number, number>();
  private finishReason: unknown = null;
  private usage: Usage | null = null;

  constructor(private readonly echo: ResponseEcho) {}

  /** response.created and response.in_progress. */
  start(model: string): ResponseEvent[] {
    this.model = model;
    const response = responseShell(this.echo, model);
    return [this.event("response.created", { response }), this.event("response.in_progress", { response })];
  }

  /** The events of one chunk (choice 0 only; the Responses API has one output). */
  chunk(chunk: ChatCompletionChunk): ResponseEvent[] {
    if (chunk.usage) this.usage = chunk.usage;
    const choice = chunk.choices.find((c) => isRecord(c) && (c["index"] ?? 0) === 0);
    if (!isRecord(choice)) return [];
    if (typeof choice["finish_reason"] === "string") this.finishReason = choice["finish_reason"];
    const delta = isRecord(choice["delta"]) ? choice["delta"] : {};
    const out: ResponseEvent[] = [];
    if (typeof delta["content"] === "string" && delta["content"] !== "") out.push(...this.text(delta["content"]));
    if (Array.isArray(delta["tool_calls"]))
      for (const d of delta["tool_calls"] as ToolCallDelta[]) out.push(...this.toolCall(d));
    return out;
  }

  /** Usage for response.completed (the stream's usage chunk, when it came separately). */
  setUsage(usage: Usage | null): void {
    this.usage = usage ?? this.usage;
  }

  /** Every item's done events, then response.completed (`extra` goes on that event). */
  finish(extra: JsonObject = {}): ResponseEvent[] {
    const out = this.items.flatMap((item, i) => this.done(item, i));
    const response = {
      ...responseShell(this.echo, this.model),
      ...statusOf(this.finishReason),
      output: this.items.map(finalItem),
      usage: responseUsage(this.usage),
    };
    out.push(this.event("response.completed", { response, ...extra }));
    return out;
  }

  /** response.failed: the stream broke after it began. */
  fail(code: string, message: string): ResponseEvent[] {
    const response = {
      ...responseShell(this.echo, this.model, "failed"),
      output: this.items.map(finalItem),
      error: { code, message },
    };
    return [this.event("response.failed", { response })];
  }

  private text(piece: string): ResponseEvent[] {
    const out: ResponseEvent[] = [];
    if (this.messageAt === null) {
      this.messageAt = this.items.length;
      const item: Item = { kind: "message", id: messageItemId(this.echo.id), text: "" };
      this.items.push(item);
      out.push(this.event("response.output_item.added", { output_index: this.messageAt, item: openItem(item) }));
      out.push(this.event("response.content_part.added", { ...this.textRef(item), part: outputText("") }));
    }
    const item = this.items[this.messageAt] as Item & { kind: "message" };
    item.text += piece;
    out.push(this.event("response.output_text.delta", { ...this.textRef(item), delta: piece, logprobs: [] }));
    return out;
  }

  private toolCall(d: ToolCallDelta): ResponseEvent[] {
    const index = typeof d.index === "number" ? d.index : this.calls.size;
    const out: ResponseEvent[] = [];
    let at = this.calls.get(index);
    if (at === undefined) {
      at = this.items.length;
      this.calls.set(index, at);
      const name = typeof d.function?.name === "string" ? d.function.name : "";
      const id = functionCallItemId(this.echo.id, index);
      const item: Item = { kind: "call", id, callId: typeof d.id === "string" ? d.id : id, name, args: "" };
      this.items.push(item);
      out.push(this.event("response.output_item.added", { output_index: at, item: openItem(item) }));
    }
    const item = this.items[at] as Item & { kind: "call" };
    const piece = typeof d.function?.arguments === "string" ? d.function.arguments : "";
    if (piece === "") return out;
    item.args += piece;
    const ref = { item_id: item.id, output_index: at };
    out.push(this.event("response.function_call_arguments.delta", { ...ref, delta: piece }));
    return out;
  }

  private done(item: Item, at: number): ResponseEvent[] {
    const out: ResponseEvent[] = [];
    if (item.kind === "call") {
      const ref = { item_id: item.id, output_index: at };
      out.push(this.event("response.function_call_arguments.done", { ...ref, arguments: item.args }));
    } else {
      const ref = this.textRef(item);
      out.push(this.event("response.output_text.done", { ...ref, text: item.text, logprobs: [] }));
      out.push(this.event("response.content_part.done", { ...ref, part: outputText(item.text) }));
    }
    out.push(this.event("response.output_item.done", { output_index: at, item: finalItem(item) }));
    return out;
  }

  private textRef(item: Item): JsonObject {
    return { item_id: item.id, output_index: this.messageAt ?? 0, content_index: 0 };
  }

  private event(type: string, body: JsonObject): ResponseEvent {
    return { type, sequence_number: this.seq++, ...body };
  }
}

function openItem(item: Item): JsonObject {
  if (item.kind === "message")
    return { id: item.id, type: "message", status: "in_progress", role: "assistant", content: [] };
  return {
    id: item.id,
    type: "function_call",
    status: "in_progress",
    call_id: item.callId,
    name: item.name,
    arguments: "",
  };
}

function finalItem(item: Item): JsonObject {
  if (item.kind === "message")
    return { id: item.id, type: "message", status: "completed", role: "assistant", content: [outputText(item.text)] };
  return {
    id: item.id,
    type: "function_call",
    status: "completed",
    call_id: item.callId,
    name: item.name,
    arguments: item.args,
  };
}
