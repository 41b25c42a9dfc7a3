/**
 * A chat completion as an OpenAI Responses API `response` object: choice 0's text as a message item with
 * output_text content (a refusal as refusal content), each tool call as a function_call item, the usage as
 * input/output/total tokens, finish_reason as status (length and content_filter: incomplete). The request's
 * parameters are echoed as the Responses API does. Ids and the clock come from the caller.
 */
import { isRecord } from "../config/json.js";
import type { ChatCompletion, JsonObject, Usage } from "./types.js";

/** What a response repeats of its request, and the ids and time the caller chose. */
export interface ResponseEcho {
  /** `resp_…`. */
  id: string;
  /** Unix seconds. */
  createdAt: number;
  /** The Responses request as the client sent it. */
  request: JsonObject;
}

export type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed";

/** Request parameters a response repeats, with the value it shows when the request did not set one. */
const ECHOED: readonly [string, unknown][] = [
  ["instructions", null],
  ["max_output_tokens", null],
  ["parallel_tool_calls", true],
  ["reasoning", null],
  ["temperature", null],
  ["text", { format: { type: "text" } }],
  ["tool_choice", "auto"],
  ["tools", []],
  ["top_p", null],
  ["metadata", {}],
];

/** The response object without its output and usage (those of a response in progress). */
export function responseShell(echo: ResponseEcho, model: string, status: ResponseStatus = "in_progress"): JsonObject {
  const echoed = Object.fromEntries(ECHOED.map(([key, absent]) => [key, echo.request[key] ?? absent]));
  return {
    id: echo.id,
    object: "response",
    created_at: echo.createdAt,
    status,
    error: null,
    incomplete_details: null,
    model,
    output: [],
    previous_response_id: null,
    store: false,
    truncation: "disabled",
    usage: null,
    ...echoed,
  };
}

/** The whole response of a completed chat completion. */
export function responseOf(completion: ChatCompletion, echo: ResponseEcho): JsonObject {
  const choice = isRecord(completion.choices[0]) ? completion.choices[0] : {};
  const message = isRecord(choice["message"]) ? choice["message"] : {};
  return {
    ...responseShell(echo, completion.model),
    ...statusOf(choice["finish_reason"]),
    output: outputItems(message, echo.id),
    usage: responseUsage(completion.usage ?? null),
  };
}

/** status and incomplete_details for a chat finish_reason. */
export function statusOf(finishReason: unknown): { status: ResponseStatus; incomplete_details: JsonObject | null } {
  if (finishReason === "length") return { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } };
  if (finishReason === "content_filter")
    return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
  return { status: "completed", incomplete_details: null };
}

/** The id of the response's message item. */
export function messageItemId(responseId: string): string {
  return `msg_${responseId.replace(/^resp_/, "")}`;
}

/** The id of the response's function_call item for tool call `index`. */
export function functionCallItemId(responseId: string, index: number): string {
  return `fc_${responseId.replace(/^resp_/, "")}_${index}`;
}

export function outputText(text: string): JsonObject {
  return { type: "output_text", text, annotations: [] };
}

function outputItems(message: JsonObject, responseId: string): JsonObject[] {
  const calls = Array.isArray(message["tool_calls"]) ? (message["tool_calls"] as unknown[]) : [];
  const content: JsonObject[] = [];
  if (typeof message["content"] === "string" && message["content"] !== "") content.push(outputText(message["content"]));
  if (typeof message["refusal"] === "string") content.push({ type: "refusal", refusal: message["refusal"] });
  const items = calls.map((call, i) => functionCallItem(call, functionCallItemId(responseId, i)));
  if (content.length === 0 && items.length > 0) return items;
  const text = { id: messageItemId(responseId), type: "message", status: "completed", role: "assistant", content };
  return [text, ...items];
}

function functionCallItem(call: unknown, id: string): JsonObject {
  const c = isRecord(call) ? call : {};
  const fn = isRecord(c["function"]) ? c["function"] : {};
  return {
    id,
    type: "function_call",
    status: "completed",
    call_id: typeof c["id"] === "string" ? c["id"] : id,
    name: typeof fn["name"] === "string" ? fn["name"] : "",
    arguments: typeof fn["arguments"] === "string" ? fn["arguments"] : "",
  };
}

/** Chat usage as Responses usage; null when the upstream sent none. */
export function responseUsage(u: Usage | null): JsonObject | null {
  if (u === null) return null;
  const details = (u as { completion_tokens_details?: { reasoning_tokens?: number } }).completion_tokens_details;
  return {
    input_tokens: u.prompt_tokens,
    input_tokens_details: { cached_tokens: u.prompt_tokens_details?.cached_tokens ?? 0 },
    output_tokens: u.completion_tokens,
    output_tokens_details: { reasoning_tokens: details?.reasoning_tokens ?? 0 },
    total_tokens: u.total_tokens,
  };
}
