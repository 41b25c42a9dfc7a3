import { describe, expect, it } from "vitest";
import { toAnthropicBody } from "./to-anthropic.js";
import { fromAnthropicRequest } from "./from-anthropic.js";
import { MessageEncoder } from "./stream.js";
import { errorTypeOfStatus, openAIToolChoice, stopReason } from "./tables.js";

const TOOL = { name: "lookup", description: "Looks up", input_schema: { type: "object", properties: {} } };

describe("fromAnthropicRequest", () => {
  it("translates system, image, tool_use and tool_result blocks into OpenAI messages", () => {
    const request = fromAnthropicRequest({
      model: "chat",
      max_tokens: 50,
      system: [{ type: "text", text: "Be brief." }],
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "what is this?" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } },
          ],
        },
        { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "lookup", input: { q: 1 } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "found" }] },
      ],
      tools: [TOOL],
      tool_choice: { type: "tool", name: "lookup", disable_parallel_tool_use: true },
      stop_sequences: ["END"],
      metadata: { user_id: "u-1" },
      stream: true,
    });
    expect(request).toEqual({
      model: "chat",
      max_tokens: 50,
      stream: true,
      stop: ["END"],
      user: "u-1",
      messages: [
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "text", text: "what is this?" },
            { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
          ],
        },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "t1", type: "function", function: { name: "lookup", arguments: '{"q":1}' } }],
        },
        { role: "tool", tool_call_id: "t1", content: "found" },
      ],
      tools: [
        { type: "function", function: { name: "lookup", description: "Looks up", parameters: TOOL.input_schema } },
      ],
      tool_choice: { type: "function", function: { name: "lookup" } },
      parallel_tool_calls: false,
    });
  });

  it("is undone by the adapter's translation for the fields both sides have", () => {
    const anthropic = {
      model: "m",
      max_tokens: 50,
      system: "Be brief.",
      messages: [
        { role: "user", content: [{ type: "text", text: "hi" }] },
        { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "lookup", input: { q: 1 } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "found" }] },
      ],
      tools: [TOOL],
      tool_choice: { type: "any" },
      temperature: 0.5,
      stop_sequences: ["END"],
    };
    const back = toAnthropicBody(fromAnthropicRequest(anthropic), { model: "m", maxTokens: 50, stream: false });
    expect(back).toEqual(anthropic);
  });

  it("refuses a request without max_tokens with a 400 naming the field", () => {
    expect(() => fromAnthropicRequest({ model: "chat", messages: [{ role: "user", content: "hi" }] })).toThrow(
      expect.objectContaining({ status: 400, param: "max_tokens" }),
    );
  });

  it("refuses document blocks and server tools it cannot translate", () => {
    const doc = { role: "user", content: [{ type: "document", source: {} }] };
    expect(() => fromAnthropicRequest({ model: "c", max_tokens: 5, messages: [doc] })).toThrow(/document/);
    const tools = [{ type: "web_search_20250305", name: "web_search" }];
    const messages = [{ role: "user", content: "hi" }];
    expect(() => fromAnthropicRequest({ model: "c", max_tokens: 5, messages, tools })).toThrow(/server tools/);
  });
});

describe("anthropic-wire tables", () => {
  it("maps finish reasons, tool choices and statuses back to Anthropic's", () => {
    expect(["stop", "length", "tool_calls", "content_filter", null].map(stopReason)).toEqual([
      "end_turn",
      "max_tokens",
      "tool_use",
      "refusal",
      "end_turn",
    ]);
    expect(openAIToolChoice({ type: "any" })).toBe("required");
    expect(openAIToolChoice({ type: "auto" })).toBe("auto");
    expect([400, 401, 403, 404, 429, 500, 502, 529].map(errorTypeOfStatus)).toEqual([
      "invalid_request_error",
      "authentication_error",
      "permission_error",
      "not_found_error",
      "rate_limit_error",
      "api_error",
      "api_error",
      "overloaded_error",
    ]);
  });
});

describe("MessageEncoder", () => {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
    id: "c1",
    object: "chat.completion.chunk" as const,
    model: "m",
    choices: [{ index: 0, delta, finish_reason: finish }],
  });

  it("encodes text then a tool call as a text block and a tool_use block with input_json_delta", () => {
    const enc = new MessageEncoder({ model: "route", inputTokens: 7 });
    const events = [
      ...enc.chunk(chunk({ role: "assistant", content: "" })),
      ...enc.chunk(chunk({ content: "Let me " })),
      ...enc.chunk(chunk({ content: "check." })),
      ...enc.chunk(chunk({ tool_calls: [{ index: 0, id: "call_1", function: { name: "lookup", arguments: "" } }] })),
      ...enc.chunk(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"q":' } }] })),
      ...enc.chunk(chunk({ tool_calls: [{ index: 0, function: { arguments: "1}" } }] })),
      ...enc.chunk(chunk({}, "tool_calls")),
      ...enc.end({ input: 10, cachedInput: 2, output: 5 }),
    ];
    expect(events.map((e) => [e.event, e.data["index"] ?? null])).toEqual([
      ["message_start", null],
      ["content_block_start", 0],
      ["content_block_delta", 0],
      ["content_block_delta", 0],
      ["content_block_stop", 0],
      ["content_block_start", 1],
      ["content_block_delta", 1],
      ["content_block_delta", 1],
      ["content_block_stop", 1],
      ["message_delta", null],
      ["message_stop", null],
    ]);
    expect(events[5]?.data).toMatchObject({ content_block: { type: "tool_use", id: "call_1", name: "lookup" } });
    expect(events[9]?.data).toEqual({
      type: "message_delta",
      delta: { stop_reason: "tool_use", stop_sequence: null },
      usage: { input_tokens: 8, cache_creation_input_tokens: 0, cache_read_input_tokens: 2, output_tokens: 5 },
    });
  });
});
