/**
 * The Anthropic Messages ⇄ OpenAI Chat Completions correspondences both directions use (the Anthropic provider
 * adapter translates OpenAI → Anthropic, the /v1/messages endpoint Anthropic → OpenAI): stop reasons, tool choice,
 * image sources, tool-call arguments, usage and error types, each defined once. Pure.
 */
import { count, isRecord, str } from "../config/json.js";
import type { JsonObject, Usage } from "../openai/types.js";

export const ANTHROPIC_VERSION = "2023-06-01";

/** An Anthropic content block, tool definition or tool choice. */
export type Block = JsonObject;

// ---------------------------------------------------------------------------------------------------------------
// Stop reasons

/** Anthropic stop_reason → OpenAI finish_reason. */
const FINISH_REASONS: Record<string, string> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

/** OpenAI finish_reason → Anthropic stop_reason: the first stop reason of FINISH_REASONS for each finish reason. */
const STOP_REASONS: Record<string, string> = {
  ...Object.fromEntries(
    Object.entries(FINISH_REASONS)
      .reverse()
      .map(([stop, finish]) => [finish, stop]),
  ),
  function_call: "tool_use",
};

export function finishReason(stopReason: unknown): string | null {
  if (typeof stopReason !== "string") return null;
  return FINISH_REASONS[stopReason] ?? "stop";
}

export function stopReason(finish: unknown): string {
  return (typeof finish === "string" ? STOP_REASONS[finish] : undefined) ?? "end_turn";
}

// ---------------------------------------------------------------------------------------------------------------
// Tool choice

/** OpenAI's tool_choice strings → Anthropic tool_choice types. */
const TOOL_CHOICES: Record<string, string> = { auto: "auto", required: "any", none: "none" };

/** OpenAI tool_choice → Anthropic tool_choice, or null when there is none (or it is not understood). */
export function anthropicToolChoice(choice: unknown): Block | null {
  const type = typeof choice === "string" ? TOOL_CHOICES[choice] : undefined;
  if (type !== undefined) return { type };
  if (isRecord(choice) && isRecord(choice["function"])) {
    const name = str(choice["function"]["name"]);
    if (name !== null) return { type: "tool", name };
  }
  return null;
}

/** Anthropic tool_choice → OpenAI tool_choice, or null when it is not understood. */
export function openAIToolChoice(choice: Block): unknown {
  if (choice["type"] === "tool") {
    const name = str(choice["name"]);
    return name === null ? null : { type: "function", function: { name } };
  }
  const named = Object.entries(TOOL_CHOICES).find(([, type]) => type === choice["type"]);
  return named?.[0] ?? null;
}

// ---------------------------------------------------------------------------------------------------------------
// Images and tool-call arguments

/** An OpenAI image URL as an Anthropic image block: `data:<media>;base64,<data>` → base64 source, else url. */
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

/** An Anthropic image source as the OpenAI image URL imageBlock() reads back, or null. */
export function imageUrl(source: unknown): string | null {
  if (!isRecord(source)) return null;
  if (source["type"] === "url") return str(source["url"]);
  const media = str(source["media_type"]);
  const data = str(source["data"]);
  return source["type"] === "base64" && media !== null && data !== null ? `data:${media};base64,${data}` : null;
}

/** Tool-call arguments are a JSON string in OpenAI and an object in Anthropic; unparsable ones become {}. */
export function toolInput(args: unknown): JsonObject {
  if (isRecord(args)) return args;
  if (typeof args !== "string" || args.length === 0) return {};
  try {
    const parsed: unknown = JSON.parse(args);
    return isRecord(parsed) ? parsed : {};
  } catch {
    return {}; // Anthropic requires an object; a model's broken arguments should not fail the whole request.
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Usage

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

/** prompt_tokens = input + cache creation + cache reads; cached_tokens = cache reads. */
export function toOpenAIUsage(u: AnthropicUsage): Usage {
  const prompt = u.input + u.cacheCreation + u.cacheRead;
  return {
    prompt_tokens: prompt,
    completion_tokens: u.output,
    total_tokens: prompt + u.output,
    prompt_tokens_details: { cached_tokens: u.cacheRead },
  };
}

/** Token counts as the router bills them (accounting's TokenCounts, structurally). */
export interface BilledTokens {
  input: number;
  cachedInput: number;
  output: number;
}

/** The inverse of toOpenAIUsage: cached input tokens are cache reads, the rest plain input. */
export function toAnthropicUsage(t: BilledTokens): JsonObject {
  return {
    input_tokens: Math.max(0, t.input - t.cachedInput),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: t.cachedInput,
    output_tokens: t.output,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** HTTP status for an Anthropic error type (also used for `error` events inside a 200 stream). */
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

const ERROR_TYPES: Record<number, string> = Object.fromEntries(
  Object.entries(ERROR_STATUS).map(([type, status]) => [status, type]),
);

export function statusOfErrorType(type: unknown): number {
  return (typeof type === "string" ? ERROR_STATUS[type] : undefined) ?? 500;
}

/** The Anthropic error type for an HTTP status: the table's, else invalid_request_error (4xx) or api_error. */
export function errorTypeOfStatus(status: number): string {
  return ERROR_TYPES[status] ?? (status >= 400 && status < 500 ? "invalid_request_error" : "api_error");
}

/** Anthropic's error body: {"type":"error","error":{"type","message"}}. */
export function anthropicErrorBody(status: number, message: string): JsonObject {
  return { type: "error", error: { type: errorTypeOfStatus(status), message } };
}
