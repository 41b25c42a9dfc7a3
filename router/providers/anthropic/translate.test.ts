import { describe, expect, it } from "vitest";
import { providerConfig } from "../../../test/mocks/provider-config.js";
import type { ChatRequest } from "../../openai/types.js";
import { fromAnthropicMessage } from "../../anthropic-wire/message.js";
import { StreamTranslator } from "../../anthropic-wire/stream.js";
import { DEFAULT_MAX_TOKENS, toAnthropicRequest } from "./translate.js";

const provider = providerConfig({ type: "anthropic", model: "claude-x", maxOutputTokens: 8192 });

function req(extra: Partial<ChatRequest>): ChatRequest {
  return { model: "route", messages: [{ role: "user", content: "hi" }], ...extra };
}

describe("toAnthropicRequest", () => {
  it("moves system and developer messages into system when they appear anywhere", () => {
    const body = toAnthropicRequest(
      provider,
      req({
        messages: [
          { role: "system", content: "Be brief." },
          { role: "developer", content: [{ type: "text", text: "Use English." }] },
          { role: "user", content: "hi" },
        ],
      }),
      false,
    );
    expect(body["system"]).toBe("Be brief.\n\nUse English.");
    expect(body["messages"]).toEqual([{ role: "user", content: [{ type: "text", text: "hi" }] }]);
    expect(body["model"]).toBe("claude-x");
  });

  it("defaults max_tokens when the request sets none and uses max_completion_tokens when it is set", () => {
    expect(toAnthropicRequest(provider, req({}), false)["max_tokens"]).toBe(DEFAULT_MAX_TOKENS);
    const small = providerConfig({ ...provider, maxOutputTokens: 1000 });
    expect(toAnthropicRequest(small, req({}), false)["max_tokens"]).toBe(1000);
    expect(toAnthropicRequest(provider, req({ max_tokens: 50, max_completion_tokens: 70 }), false)["max_tokens"]).toBe(
      70,
    );
  });

  it("maps stop, temperature, top_p and user when they are set", () => {
    const body = toAnthropicRequest(provider, req({ stop: "END", temperature: 1.7, top_p: 0.9, user: "u1" }), true);
    expect(body).toMatchObject({
      stop_sequences: ["END"],
      temperature: 1,
      top_p: 0.9,
      metadata: { user_id: "u1" },
      stream: true,
    });
  });

  it("turns image_url parts into base64 or url image blocks when the user sends images", () => {
    const content = [
      { type: "text", text: "What is this?" },
      { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
      { type: "image_url", image_url: { url: "https://example.com/cat.jpg", detail: "high" } },
    ];
    const body = toAnthropicRequest(provider, req({ messages: [{ role: "user", content }] }), false);
    expect(body["messages"]).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "What is this?" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
          { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
        ],
      },
    ]);
  });

  it("maps tool calls to tool_use and merges tool results into one user turn when a tool round-trip is replayed", () => {
    const messages = [
      { role: "user", content: "weather in Paris and Rome?" },
      {
        role: "assistant",
        content: "Checking.",
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } },
          { id: "call_2", type: "function", function: { name: "weather", arguments: "not json" } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: "18C" },
      { role: "tool", tool_call_id: "call_2", content: [{ type: "text", text: "21C" }] },
    ];
    const body = toAnthropicRequest(provider, req({ messages }), false);
    expect(body["messages"]).toEqual([
      { role: "user", content: [{ type: "text", text: "weather in Paris and Rome?" }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Checking." },
          { type: "tool_use", id: "call_1", name: "weather", input: { city: "Paris" } },
          { type: "tool_use", id: "call_2", name: "weather", input: {} },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "call_1", content: "18C" },
          { type: "tool_result", tool_use_id: "call_2", content: "21C" },
        ],
      },
    ]);
  });

  it("maps tools and each tool_choice form when tools are given", () => {
    const tools = [
      { type: "function", function: { name: "weather", description: "Get weather", parameters: { type: "object" } } },
      { type: "function", function: { name: "noargs" } },
    ];
    const body = toAnthropicRequest(provider, req({ tools, tool_choice: "required" }), false);
    expect(body["tools"]).toEqual([
      { name: "weather", description: "Get weather", input_schema: { type: "object" } },
      { name: "noargs", input_schema: { type: "object", properties: {} } },
    ]);
    expect(body["tool_choice"]).toEqual({ type: "any" });
    expect(toAnthropicRequest(provider, req({ tools, tool_choice: "auto" }), false)["tool_choice"]).toEqual({
      type: "auto",
    });
    expect(toAnthropicRequest(provider, req({ tools, tool_choice: "none" }), false)["tool_choice"]).toEqual({
      type: "none",
    });
    const named = { type: "function", function: { name: "weather" } };
    expect(toAnthropicRequest(provider, req({ tools, tool_choice: named }), false)["tool_choice"]).toEqual({
      type: "tool",
      name: "weather",
    });
    expect(toAnthropicRequest(provider, req({ tools, parallel_tool_calls: false }), false)["tool_choice"]).toEqual({
      type: "auto",
      disable_parallel_tool_use: true,
    });
  });

  it("omits tool_choice when the request has no tools", () => {
    expect(toAnthropicRequest(provider, req({ tool_choice: "none" }), false)).not.toHaveProperty("tool_choice");
  });

  it("adds a JSON instruction to system when response_format asks for JSON", () => {
    const body = toAnthropicRequest(provider, req({ response_format: { type: "json_object" } }), false);
    expect(body["system"]).toContain("valid JSON object");
    const schema = { type: "object", properties: { a: { type: "string" } } };
    const withSchema = toAnthropicRequest(
      provider,
      req({ response_format: { type: "json_schema", json_schema: { name: "x", schema } } }),
      false,
    );
    expect(withSchema["system"]).toContain(JSON.stringify(schema));
  });
});

describe("fromAnthropicMessage", () => {
  it("maps text, tool_use, stop reason and cache usage when the message has them all", () => {
    const completion = fromAnthropicMessage(
      {
        id: "msg_1",
        type: "message",
        model: "claude-x",
        content: [
          { type: "thinking", thinking: "hmm" },
          { type: "text", text: "Sure." },
          { type: "tool_use", id: "toolu_1", name: "weather", input: { city: "Paris" } },
        ],
        stop_reason: "tool_use",
        usage: { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 2, cache_read_input_tokens: 30 },
      },
      123,
    );
    expect(completion).toEqual({
      id: "msg_1",
      object: "chat.completion",
      created: 123,
      model: "claude-x",
      choices: [
        {
          index: 0,
          logprobs: null,
          finish_reason: "tool_calls",
          message: {
            role: "assistant",
            content: "Sure.",
            refusal: null,
            tool_calls: [
              { id: "toolu_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } },
            ],
          },
        },
      ],
      usage: {
        prompt_tokens: 42,
        completion_tokens: 5,
        total_tokens: 47,
        prompt_tokens_details: { cached_tokens: 30 },
      },
    });
  });

  it("maps max_tokens to length and stop_sequence to stop when the model stopped early", () => {
    const finish = (stop_reason: string) =>
      (fromAnthropicMessage({ content: [], stop_reason }, 0)?.choices[0] as { finish_reason: string }).finish_reason;
    expect(finish("max_tokens")).toBe("length");
    expect(finish("stop_sequence")).toBe("stop");
    expect(finish("end_turn")).toBe("stop");
    expect(finish("refusal")).toBe("content_filter");
  });

  it("returns null when the value is not a message", () => {
    expect(fromAnthropicMessage({ type: "error" }, 0)).toBeNull();
  });
});

describe("StreamTranslator", () => {
  it("numbers tool calls from 0 when the tool_use block is not the first content block", () => {
    const t = new StreamTranslator("claude-x", 1);
    t.step({ type: "message_start", message: { id: "msg_1", model: "claude-x", usage: { input_tokens: 3 } } });
    t.step({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
    const start = t.step({
      type: "content_block_start",
      index: 1,
      content_block: { type: "tool_use", id: "toolu_1", name: "f", input: {} },
    });
    const delta = t.step({
      type: "content_block_delta",
      index: 1,
      delta: { type: "input_json_delta", partial_json: '{"a"' },
    });
    expect(start).toMatchObject({
      type: "chunk",
      chunk: {
        choices: [{ delta: { tool_calls: [{ index: 0, id: "toolu_1", function: { name: "f", arguments: "" } }] } }],
      },
    });
    expect(delta).toMatchObject({
      type: "chunk",
      chunk: { choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: '{"a"' } }] } }] },
    });
  });

  it("ignores ping, block stops, thinking deltas and unknown events when they arrive", () => {
    const t = new StreamTranslator("claude-x", 1);
    expect(t.step({ type: "ping" })).toEqual({ type: "none" });
    expect(t.step({ type: "content_block_stop", index: 0 })).toEqual({ type: "none" });
    expect(t.step({ type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "x" } })).toEqual(
      {
        type: "none",
      },
    );
    expect(t.step({ type: "brand_new_event" })).toEqual({ type: "none" });
  });

  it("reports usage accumulated from message_start and message_delta when the message stops", () => {
    const t = new StreamTranslator("claude-x", 1);
    t.step({
      type: "message_start",
      message: { id: "m", usage: { input_tokens: 5, cache_read_input_tokens: 10, output_tokens: 1 } },
    });
    t.step({ type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 9 } });
    expect(t.step({ type: "message_stop" })).toMatchObject({
      type: "done",
      chunk: {
        choices: [],
        usage: {
          prompt_tokens: 15,
          completion_tokens: 9,
          total_tokens: 24,
          prompt_tokens_details: { cached_tokens: 10 },
        },
      },
    });
  });

  it("returns an error step with Anthropic's status when an error event arrives", () => {
    const t = new StreamTranslator("claude-x", 1);
    expect(t.step({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } })).toEqual({
      type: "error",
      status: 529,
      message: "Overloaded",
    });
  });
});
