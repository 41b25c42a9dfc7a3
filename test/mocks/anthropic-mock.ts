/**
 * A mock Anthropic Messages upstream over real HTTP: POST …/messages (both {base}/v1/messages and {base}/messages).
 * Replies are deterministic; a text block plus a tool_use block is returned when tools are given and the last user
 * turn mentions "tool" (or tool_choice forces one) and does not carry a tool_result. Streams follow Anthropic's
 * event order, including a ping. A trailing assistant message is a prefill the reply continues (as Anthropic does);
 * one ending in whitespace is refused with a 400, as Anthropic refuses it.
 */
import {
  continuation,
  defaultReply,
  MALFORMED_EVENTS,
  split,
  sse,
  startMockServer,
  textOf,
  tokens,
  trailingAssistant,
  wantsTool,
  type MockBehaviour,
  type MockHandle,
  type ProviderResponder,
} from "./mock-server.js";
import { isRecord } from "../../router/config/json.js";

export type { FaultSetting, MockBehaviour, MockFaults, MockHandle, RecordedRequest } from "./mock-server.js";

export function startAnthropicMock(options: MockBehaviour = {}): Promise<MockHandle> {
  return startMockServer(anthropicResponder(options), options);
}

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  429: "rate_limit_error",
  500: "api_error",
  529: "overloaded_error",
};

/** Text said before a tool call. */
export const TOOL_PREAMBLE = "Let me check.";

interface Turn {
  model: string;
  text: string;
  tool: { id: string; name: string; input: Record<string, unknown> } | null;
  input: number;
  output: number;
  cached: number;
}

function anthropicResponder(options: MockBehaviour): ProviderResponder {
  const reply = options.reply ?? defaultReply;
  const turn = (body: unknown): Turn => answer(body, reply, options);
  return {
    serves: (path) => path.split("?")[0]?.endsWith("/messages") ?? false,
    isStream: (body) => isRecord(body) && body["stream"] === true,
    complete: (body) => message(turn(body)),
    streamFrames: (body) => {
      const all = events(turn(body), options.chunks ?? 5);
      return {
        frames: all.slice(0, -1),
        finish: all.slice(-1),
        terminator: [sse({ type: "message_stop" }, "message_stop")],
      };
    },
    errorBody: (status, detail) =>
      JSON.stringify({
        type: "error",
        error: { type: ERROR_TYPES[status] ?? "api_error", message: withDetail(`Mock error ${status}`, detail) },
      }),
    errorEvent: (detail, status) => {
      const type = status === undefined ? "overloaded_error" : (ERROR_TYPES[status] ?? "api_error");
      return sse({ type: "error", error: { type, message: withDetail("Overloaded", detail) } }, "error");
    },
    malformedEvent: (index) =>
      index % MALFORMED_EVENTS.length === 3
        ? sse({ unexpected: true }, "content_block_delta") // an event without a type
        : (MALFORMED_EVENTS[index % MALFORMED_EVENTS.length] ?? ""),
    refusal: (body) => {
      const raw = isRecord(body) ? body["messages"] : undefined;
      const prefill = trailingAssistant(Array.isArray(raw) ? (raw as unknown[]) : []);
      if (prefill === null || prefill === prefill.trimEnd()) return null;
      const error = { type: "invalid_request_error", message: TRAILING_WHITESPACE_ERROR };
      return { status: 400, body: JSON.stringify({ type: "error", error }) };
    },
    unfinished: (body) => ({ ...(message(turn(body)) as Record<string, unknown>), stop_reason: null }),
  };
}

function withDetail(message: string, detail: string | undefined): string {
  return detail === undefined ? message : `${message}; ${detail}`;
}

/** Anthropic's answer to a prefill that ends in whitespace. */
export const TRAILING_WHITESPACE_ERROR = "final assistant content cannot end with trailing whitespace";

function answer(body: unknown, reply: (prompt: string) => string, options: MockBehaviour): Turn {
  const request = isRecord(body) ? body : {};
  const raw = request["messages"];
  const messages: unknown[] = Array.isArray(raw) ? (raw as unknown[]) : [];
  const lastUser: unknown = [...messages].reverse().find((m) => isRecord(m) && m["role"] === "user");
  const content = isRecord(lastUser) ? lastUser["content"] : undefined;
  const prompt = textOf(content);
  const afterTool = Array.isArray(content) && content.some((b) => isRecord(b) && b["type"] === "tool_result");
  const choice = request["tool_choice"];
  const forced = isRecord(choice) && (choice["type"] === "any" || choice["type"] === "tool");
  const tool = !afterTool && wantsTool(request["tools"], prompt, forced) ? toolUse(request, prompt) : null;
  const prefill = trailingAssistant(messages);
  const full = tool === null ? reply(prompt) : TOOL_PREAMBLE;
  const text = prefill === null ? full : continuation(full, prefill, options.prefillOverlapChars ?? 0);
  return {
    model: typeof request["model"] === "string" ? request["model"] : "mock-claude",
    text,
    tool,
    input: tokens(JSON.stringify(messages) + (typeof request["system"] === "string" ? request["system"] : "")),
    output: tokens(text + (tool === null ? "" : JSON.stringify(tool.input))),
    cached: options.cachedTokens ?? 0,
  };
}

function toolUse(request: Record<string, unknown>, prompt: string): Turn["tool"] {
  const tools = request["tools"] as unknown[];
  const choice = request["tool_choice"];
  const first = tools[0];
  const forcedName = isRecord(choice) && typeof choice["name"] === "string" ? choice["name"] : undefined;
  const firstName = isRecord(first) && typeof first["name"] === "string" ? first["name"] : "tool";
  return { id: "toolu_mock_1", name: forcedName ?? firstName, input: { query: prompt.slice(0, 40) } };
}

function usage(t: Turn, output: number): Record<string, unknown> {
  return {
    input_tokens: t.input,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: t.cached,
    output_tokens: output,
  };
}

function message(t: Turn): unknown {
  const content: unknown[] = [{ type: "text", text: t.text }];
  if (t.tool !== null) content.push({ type: "tool_use", id: t.tool.id, name: t.tool.name, input: t.tool.input });
  return {
    id: "msg_mock_1",
    type: "message",
    role: "assistant",
    model: t.model,
    content,
    stop_reason: t.tool === null ? "end_turn" : "tool_use",
    stop_sequence: null,
    usage: usage(t, t.output),
  };
}

function events(t: Turn, n: number): string[] {
  const start = {
    id: "msg_mock_1",
    type: "message",
    role: "assistant",
    model: t.model,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: usage(t, 1),
  };
  const out = [
    sse({ type: "message_start", message: start }, "message_start"),
    sse({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }, "content_block_start"),
    sse({ type: "ping" }, "ping"),
  ];
  for (const text of split(t.text, n)) {
    out.push(
      sse({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text } }, "content_block_delta"),
    );
  }
  out.push(sse({ type: "content_block_stop", index: 0 }, "content_block_stop"));
  if (t.tool !== null) {
    const block = { type: "tool_use", id: t.tool.id, name: t.tool.name, input: {} };
    out.push(sse({ type: "content_block_start", index: 1, content_block: block }, "content_block_start"));
    for (const partial_json of split(JSON.stringify(t.tool.input), 3)) {
      out.push(
        sse(
          { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json } },
          "content_block_delta",
        ),
      );
    }
    out.push(sse({ type: "content_block_stop", index: 1 }, "content_block_stop"));
  }
  const stop = { stop_reason: t.tool === null ? "end_turn" : "tool_use", stop_sequence: null };
  out.push(sse({ type: "message_delta", delta: stop, usage: { output_tokens: t.output } }, "message_delta"));
  return out;
}
