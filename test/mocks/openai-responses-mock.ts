/**
 * The OpenAI mock's POST …/responses (the Responses API, served natively): the request is read as the chat
 * conversation it stands for, answered like a chat completion (openai-mock.ts decides the text or tool call), and
 * the answer written as a response object or as Responses streaming events (`event:` lines, sequence numbers,
 * response.completed with usage; no [DONE], as OpenAI sends none).
 */
import { isRecord } from "../../router/config/json.js";
import { MALFORMED_EVENTS, split, sse, textOf } from "./mock-server.js";

/** One answer of the mock, whatever the API it is written in. */
export interface Turn {
  id: string;
  model: string;
  text: string;
  tool: { id: string; name: string; arguments: string } | null;
  promptTokens: number;
  completionTokens: number;
  cached: number;
}

/** Whether a request path is the Responses API's. */
export function isResponsesPath(path = ""): boolean {
  return /\/responses$/.test(path.split("?")[0] ?? "");
}

/**
 * The chat request a Responses request stands for, as far as the mock's answer depends on it: instructions and
 * input as messages, function tools and tool_choice in their chat shape.
 */
export function chatOfResponses(body: unknown): Record<string, unknown> {
  const r = isRecord(body) ? body : {};
  const messages: unknown[] = [];
  if (typeof r["instructions"] === "string") messages.push({ role: "system", content: r["instructions"] });
  const input = r["input"];
  if (typeof input === "string") messages.push({ role: "user", content: input });
  else if (Array.isArray(input)) for (const item of input as unknown[]) messages.push(messageOf(item));
  const tools = Array.isArray(r["tools"])
    ? (r["tools"] as unknown[]).map((t) => ({ type: "function", function: { name: isRecord(t) ? t["name"] : "" } }))
    : undefined;
  const choice = r["tool_choice"];
  const toolChoice = isRecord(choice) ? { type: "function", function: { name: choice["name"] } } : choice;
  return { model: r["model"], messages, tools, tool_choice: toolChoice };
}

function messageOf(item: unknown): unknown {
  if (!isRecord(item)) return { role: "user", content: "" };
  if (item["type"] === "function_call_output") return { role: "tool", content: String(item["output"]) };
  if (item["type"] === "function_call") return { role: "assistant", content: null };
  // Responses content parts (input_text, output_text) have `text`, as chat parts do.
  return { role: item["role"], content: textOf(item["content"]) };
}

function responseId(t: Turn): string {
  return t.id.replace(/^chatcmpl-mock-/, "resp_mock_");
}

function usage(t: Turn): Record<string, unknown> {
  return {
    input_tokens: t.promptTokens,
    input_tokens_details: { cached_tokens: t.cached },
    output_tokens: t.completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: t.promptTokens + t.completionTokens,
  };
}

function shell(t: Turn, body: unknown, status: string): Record<string, unknown> {
  const r = isRecord(body) ? body : {};
  return {
    id: responseId(t),
    object: "response",
    created_at: 1_700_000_000,
    status,
    error: null,
    incomplete_details: null,
    instructions: r["instructions"] ?? null,
    model: t.model,
    output: [],
    parallel_tool_calls: true,
    previous_response_id: null,
    store: r["store"] ?? true,
    text: { format: { type: "text" } },
    tool_choice: r["tool_choice"] ?? "auto",
    tools: r["tools"] ?? [],
    usage: null,
  };
}

function messageItem(t: Turn): Record<string, unknown> {
  return {
    id: `msg_${responseId(t)}`,
    type: "message",
    status: "completed",
    role: "assistant",
    content: [{ type: "output_text", text: t.text, annotations: [] }],
  };
}

function callItem(t: Turn & { tool: NonNullable<Turn["tool"]> }, args: string): Record<string, unknown> {
  return {
    id: `fc_${responseId(t)}`,
    type: "function_call",
    status: "completed",
    call_id: t.tool.id,
    name: t.tool.name,
    arguments: args,
  };
}

/** The whole response object. */
export function responseObject(t: Turn, body: unknown): unknown {
  const output = t.tool === null ? [messageItem(t)] : [callItem({ ...t, tool: t.tool }, t.tool.arguments)];
  return { ...shell(t, body, "completed"), output, usage: usage(t) };
}

/** A response still in progress (what a truncated answer would look like). */
export function unfinishedResponse(t: Turn, body: unknown): unknown {
  return { ...shell(t, body, "in_progress"), output: [] };
}

/** The stream: the prelude and content events (`frames`), then response.completed (`finish`); no terminator. */
export function responseFrames(t: Turn, body: unknown, n: number): { frames: string[]; finish: string[] } {
  let seq = 0;
  const event = (type: string, fields: Record<string, unknown>) =>
    sse({ type, sequence_number: seq++, ...fields }, type);
  const inProgress = shell(t, body, "in_progress");
  const frames = [
    event("response.created", { response: inProgress }),
    event("response.in_progress", { response: inProgress }),
  ];
  let item: Record<string, unknown>;
  if (t.tool === null) {
    item = messageItem(t);
    const ref = { item_id: item["id"], output_index: 0, content_index: 0 };
    frames.push(
      event("response.output_item.added", { output_index: 0, item: { ...item, status: "in_progress", content: [] } }),
    );
    frames.push(
      event("response.content_part.added", { ...ref, part: { type: "output_text", text: "", annotations: [] } }),
    );
    for (const delta of split(t.text, n))
      frames.push(event("response.output_text.delta", { ...ref, delta, logprobs: [] }));
    frames.push(event("response.output_text.done", { ...ref, text: t.text, logprobs: [] }));
    frames.push(
      event("response.content_part.done", { ...ref, part: { type: "output_text", text: t.text, annotations: [] } }),
    );
  } else {
    item = callItem({ ...t, tool: t.tool }, t.tool.arguments);
    const ref = { item_id: item["id"], output_index: 0 };
    frames.push(
      event("response.output_item.added", { output_index: 0, item: { ...item, status: "in_progress", arguments: "" } }),
    );
    for (const delta of split(t.tool.arguments, 3))
      frames.push(event("response.function_call_arguments.delta", { ...ref, delta }));
    frames.push(event("response.function_call_arguments.done", { ...ref, arguments: t.tool.arguments }));
  }
  frames.push(event("response.output_item.done", { output_index: 0, item }));
  const completed = { ...shell(t, body, "completed"), output: [item], usage: usage(t) };
  return { frames, finish: [event("response.completed", { response: completed })] };
}

/** The Responses API's in-stream error event (`code` the status it stands for, when given). */
export function responsesErrorEvent(message: string, status: number | undefined): string {
  return sse({ type: "error", code: status ?? "server_error", message, param: null, sequence_number: 0 }, "error");
}

/** Malformed events for a Responses stream: not JSON, or JSON without a `type`. */
export function responsesMalformedEvent(index: number): string {
  return MALFORMED_EVENTS[index % MALFORMED_EVENTS.length] ?? "";
}
