/**
 * OpenAI Chat Completions ⇄ Anthropic Messages (anthropic-version 2023-06-01). Pure functions.
 *
 * Request: system/developer messages → `system`; user/assistant/tool messages → alternating turns (consecutive
 * turns of one role merged, tool results become `tool_result` blocks in a user turn); `image_url` parts → image
 * blocks (data URLs as base64, others as url sources); tools/tool_choice/parallel_tool_calls → tools/tool_choice;
 * max_completion_tokens | max_tokens (default DEFAULT_MAX_TOKENS, capped by the provider's maxOutputTokens);
 * stop → stop_sequences; temperature (clamped to Anthropic's 0–1) and top_p; user → metadata.user_id.
 * Best effort: `response_format` json_object / non-strict json_schema becomes a system instruction (Anthropic has
 * no JSON mode in this API version), so the reply is very likely but not guaranteed to be valid JSON. Never sent
 * here: n > 1, logprobs and a strict json_schema (the router refuses or routes around them, select/params.ts).
 * Dropped: seed, presence/frequency penalties, audio/file content parts, legacy `function` messages.
 *
 * Response: text blocks → content; tool_use blocks → tool_calls; stop_reason → finish_reason; usage →
 * prompt_tokens = input + cache_creation + cache_read tokens, prompt_tokens_details.cached_tokens = cache_read.
 * Thinking blocks are not forwarded.
 */
import type { ProviderConfig } from "../../config/types.js";
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatMessage,
  ChatRequest,
  JsonObject,
  Usage,
} from "../../openai/types.js";
import { isRecord } from "../../config/json.js";
import { str, count } from "../shared/json.js";
import { contentText } from "../shared/messages.js";

export const ANTHROPIC_VERSION = "2023-06-01";
export const DEFAULT_MAX_TOKENS = 4096;

type Block = JsonObject;
interface Turn {
  role: "user" | "assistant";
  content: Block[];
}

export function toAnthropicRequest(provider: ProviderConfig, request: ChatRequest, stream: boolean): JsonObject {
  const body: JsonObject = {
    model: provider.model,
    max_tokens: maxTokens(provider, request),
    messages: toTurns(request.messages),
  };
  const system = systemPrompt(request);
  if (system.length > 0) body["system"] = system;
  if (stream) body["stream"] = true;
  copySampling(request, body);
  copyTools(request, body);
  const user = str(request["user"]);
  if (user !== null) body["metadata"] = { user_id: user };
  return body;
}

function maxTokens(provider: ProviderConfig, request: ChatRequest): number {
  const asked = request["max_completion_tokens"] ?? request["max_tokens"];
  if (typeof asked === "number" && asked > 0) return Math.floor(asked);
  return provider.maxOutputTokens > 0 ? Math.min(DEFAULT_MAX_TOKENS, provider.maxOutputTokens) : DEFAULT_MAX_TOKENS;
}

function copySampling(request: ChatRequest, body: JsonObject): void {
  const temperature = request["temperature"];
  if (typeof temperature === "number") body["temperature"] = Math.min(1, Math.max(0, temperature));
  const topP = request["top_p"];
  if (typeof topP === "number") body["top_p"] = topP;
  const stop = request["stop"];
  const sequences = (typeof stop === "string" ? [stop] : Array.isArray(stop) ? stop : []).filter(
    (s): s is string => typeof s === "string" && s.trim().length > 0,
  );
  if (sequences.length > 0) body["stop_sequences"] = sequences;
}

function systemPrompt(request: ChatRequest): string {
  const parts: string[] = [];
  for (const m of request.messages) {
    if (m.role === "system" || m.role === "developer") {
      const text = contentText(m.content);
      if (text.length > 0) parts.push(text);
    }
  }
  const json = jsonInstruction(request["response_format"]);
  if (json !== null) parts.push(json);
  return parts.join("\n\n");
}

function jsonInstruction(format: unknown): string | null {
  if (!isRecord(format)) return null;
  if (format["type"] === "json_object") return "Respond with a single valid JSON object and nothing else.";
  if (format["type"] !== "json_schema") return null;
  const spec = format["json_schema"];
  const schema = isRecord(spec) ? spec["schema"] : undefined;
  return schema === undefined
    ? "Respond with a single valid JSON object and nothing else."
    : `Respond with a single valid JSON object, and nothing else, that matches this JSON Schema: ${JSON.stringify(schema)}`;
}

export function toTurns(messages: ChatMessage[]): Turn[] {
  const turns: Turn[] = [];
  for (const m of messages) {
    const turn = toTurn(m);
    if (turn === null || turn.content.length === 0) continue;
    const last = turns[turns.length - 1];
    if (last?.role === turn.role) last.content.push(...turn.content);
    else turns.push(turn);
  }
  return turns;
}

function toTurn(m: ChatMessage): Turn | null {
  switch (m.role) {
    case "user":
      return { role: "user", content: userBlocks(m.content) };
    case "assistant":
      return { role: "assistant", content: assistantBlocks(m) };
    case "tool":
      return { role: "user", content: [toolResult(m)] };
    default:
      return null; // system/developer go to `system`; legacy `function` messages are not supported.
  }
}

function userBlocks(content: unknown): Block[] {
  if (typeof content === "string") return content.length > 0 ? [{ type: "text", text: content }] : [];
  if (!Array.isArray(content)) return [];
  const blocks: Block[] = [];
  for (const part of content) {
    const block = isRecord(part) ? partBlock(part) : null;
    if (block !== null) blocks.push(block);
  }
  return blocks;
}

function partBlock(part: JsonObject): Block | null {
  if (part["type"] === "text") {
    const text = str(part["text"]);
    return text === null || text.length === 0 ? null : { type: "text", text };
  }
  if (part["type"] === "image_url") {
    const image = part["image_url"];
    const url = isRecord(image) ? str(image["url"]) : str(image);
    return url === null ? null : imageBlock(url);
  }
  return null;
}

/** `data:<media>;base64,<data>` → base64 source; anything else → url source. */
export function imageBlock(url: string): Block {
  if (url.startsWith("data:")) {
    const marker = url.indexOf(";base64,");
    if (marker > 5) {
      const source = { type: "base64", media_type: url.slice(5, marker), data: url.slice(marker + 8) };
      return { type: "image", source };
    }
  }
  return { type: "image", source: { type: "url", url } };
}

function assistantBlocks(m: ChatMessage): Block[] {
  const blocks: Block[] = [];
  const text = contentText(m.content);
  if (text.length > 0) blocks.push({ type: "text", text });
  const calls = m["tool_calls"];
  if (!Array.isArray(calls)) return blocks;
  for (const call of calls) {
    if (!isRecord(call) || !isRecord(call["function"])) continue;
    const fn = call["function"];
    blocks.push({
      type: "tool_use",
      id: str(call["id"]) ?? "",
      name: str(fn["name"]) ?? "",
      input: parseArguments(fn["arguments"]),
    });
  }
  return blocks;
}

/** Tool-call arguments are a JSON string in OpenAI and an object in Anthropic; unparsable ones become {}. */
function parseArguments(args: unknown): JsonObject {
  if (isRecord(args)) return args;
  if (typeof args !== "string" || args.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(args);
    return isRecord(parsed) ? parsed : {};
  } catch {
    return {}; // Anthropic requires an object; a model's broken arguments should not fail the whole request.
  }
}

function toolResult(m: ChatMessage): Block {
  return { type: "tool_result", tool_use_id: str(m["tool_call_id"]) ?? "", content: contentText(m.content) };
}

function copyTools(request: ChatRequest, body: JsonObject): void {
  const tools = request["tools"];
  // Anthropic rejects tool_choice without tools.
  if (!Array.isArray(tools) || tools.length === 0) return;
  body["tools"] = tools.filter(isRecord).map(toolDefinition);
  const choice = toolChoice(request["tool_choice"]);
  if (request["parallel_tool_calls"] === false && choice?.["type"] !== "none") {
    body["tool_choice"] = { ...(choice ?? { type: "auto" }), disable_parallel_tool_use: true };
  } else if (choice !== null) {
    body["tool_choice"] = choice;
  }
}

function toolDefinition(tool: JsonObject): Block {
  const fn = isRecord(tool["function"]) ? tool["function"] : {};
  const def: Block = { name: str(fn["name"]) ?? "" };
  const description = str(fn["description"]);
  if (description !== null) def["description"] = description;
  def["input_schema"] = isRecord(fn["parameters"]) ? fn["parameters"] : { type: "object", properties: {} };
  return def;
}

function toolChoice(choice: unknown): Block | null {
  if (choice === "auto") return { type: "auto" };
  if (choice === "required") return { type: "any" };
  if (choice === "none") return { type: "none" };
  if (isRecord(choice) && isRecord(choice["function"])) {
    const name = str(choice["function"]["name"]);
    if (name !== null) return { type: "tool", name };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------------
// Response

const FINISH_REASONS: Record<string, string> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

export function finishReason(stopReason: unknown): string | null {
  if (typeof stopReason !== "string") return null;
  return FINISH_REASONS[stopReason] ?? "stop";
}

/** Anthropic usage fields (all optional in the wire format). */
export interface AnthropicUsage {
  input: number;
  output: number;
  cacheCreation: number;
  cacheRead: number;
}

export function readUsage(value: unknown, into: AnthropicUsage): void {
  if (!isRecord(value)) return;
  if ("input_tokens" in value) into.input = count(value["input_tokens"]);
  if ("output_tokens" in value) into.output = count(value["output_tokens"]);
  if ("cache_creation_input_tokens" in value) into.cacheCreation = count(value["cache_creation_input_tokens"]);
  if ("cache_read_input_tokens" in value) into.cacheRead = count(value["cache_read_input_tokens"]);
}

export function toOpenAIUsage(u: AnthropicUsage): Usage {
  const prompt = u.input + u.cacheCreation + u.cacheRead;
  return {
    prompt_tokens: prompt,
    completion_tokens: u.output,
    total_tokens: prompt + u.output,
    prompt_tokens_details: { cached_tokens: u.cacheRead },
  };
}

export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** A non-streaming Anthropic message as an OpenAI completion, or null when the value is not a message. */
export function fromAnthropicMessage(value: unknown, createdSec: number): ChatCompletion | null {
  if (!isRecord(value) || !Array.isArray(value["content"])) return null;
  const message = assistantMessage(value["content"]);
  const usage: AnthropicUsage = { input: 0, output: 0, cacheCreation: 0, cacheRead: 0 };
  readUsage(value["usage"], usage);
  return {
    id: str(value["id"]) ?? "",
    object: "chat.completion",
    created: createdSec,
    model: str(value["model"]) ?? "",
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(value["stop_reason"]) ?? "stop" }],
    usage: toOpenAIUsage(usage),
  };
}

/** Anthropic content blocks as one OpenAI assistant message: the text joined, tool_use blocks as tool_calls. */
function assistantMessage(content: unknown[]): JsonObject {
  let text: string | null = null;
  const toolCalls: ToolCall[] = [];
  for (const block of content) {
    if (!isRecord(block)) continue;
    if (block["type"] === "text") text = (text ?? "") + (str(block["text"]) ?? "");
    else if (block["type"] === "tool_use") toolCalls.push(toolCall(block));
  }
  const message: JsonObject = { role: "assistant", content: text ?? (toolCalls.length > 0 ? null : ""), refusal: null };
  if (toolCalls.length > 0) message["tool_calls"] = toolCalls;
  return message;
}

function toolCall(block: JsonObject): ToolCall {
  const input = block["input"];
  return {
    id: str(block["id"]) ?? "",
    type: "function",
    function: { name: str(block["name"]) ?? "", arguments: JSON.stringify(isRecord(input) ? input : {}) },
  };
}

/** HTTP status for an Anthropic error type (used for `error` events inside a 200 stream). */
const ERROR_STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

export function statusOfErrorType(type: unknown): number {
  return (typeof type === "string" ? ERROR_STATUS[type] : undefined) ?? 500;
}

// ---------------------------------------------------------------------------------------------------------------
// Streaming: Anthropic SSE events → OpenAI chunks

/** What one Anthropic stream event means for the OpenAI stream. */
export type StreamStep =
  | { type: "chunk"; chunk: ChatCompletionChunk }
  | { type: "none" }
  | { type: "done"; chunk: ChatCompletionChunk }
  | { type: "error"; status: number; message: string };

const NONE: StreamStep = { type: "none" };

/**
 * Translates one stream's events in order. message_start → a role chunk; text deltas → content chunks;
 * tool_use blocks and input_json deltas → tool_calls deltas (OpenAI indexes tools 0..n, not by content block);
 * message_delta → the finish_reason chunk; message_stop → the final usage chunk (`choices: []`).
 */
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
