import { describe, expect, it } from "vitest";
import { HttpError } from "./errors.js";
import { chatRequestOf } from "./responses-request.js";
import { responseOf } from "./responses-output.js";
import { ResponsesStream, type ResponseEvent } from "./responses-stream.js";
import type { ChatCompletion, ChatCompletionChunk } from "./types.js";

const ECHO = { id: "resp_abc", createdAt: 1_700_000_000, request: { model: "chat", input: "hi" } };

function refusal(body: unknown): HttpError {
  try {
    chatRequestOf(body);
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error("expected a 400");
}

describe("chatRequestOf", () => {
  it("turns a string input and instructions into a system and a user message", () => {
    const chat = chatRequestOf({ model: "chat", instructions: "Be brief.", input: "Hello" });
    expect(chat.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hello" },
    ]);
    expect(chat.model).toBe("chat");
  });

  it("translates message items with input_text and input_image parts", () => {
    const chat = chatRequestOf({
      model: "chat",
      input: [
        { role: "developer", content: "Rules" },
        {
          type: "message",
          role: "user",
          content: [
            { type: "input_text", text: "What is this?" },
            { type: "input_image", image_url: "https://example.com/a.png", detail: "low" },
          ],
        },
        { type: "message", role: "assistant", content: [{ type: "output_text", text: "A cat." }] },
      ],
    });
    expect(chat.messages).toEqual([
      { role: "developer", content: "Rules" },
      {
        role: "user",
        content: [
          { type: "text", text: "What is this?" },
          { type: "image_url", image_url: { url: "https://example.com/a.png", detail: "low" } },
        ],
      },
      { role: "assistant", content: "A cat." },
    ]);
  });

  it("turns function_call items into assistant tool_calls and function_call_output into tool messages", () => {
    const chat = chatRequestOf({
      model: "chat",
      input: [
        { role: "user", content: "Weather in Oslo?" },
        { type: "function_call", call_id: "call_1", name: "weather", arguments: '{"city":"Oslo"}' },
        { type: "function_call", call_id: "call_2", name: "time", arguments: "{}" },
        { type: "function_call_output", call_id: "call_1", output: "12C" },
        { type: "function_call_output", call_id: "call_2", output: [{ type: "input_text", text: "noon" }] },
      ],
    });
    expect(chat.messages.slice(1)).toEqual([
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } },
          { id: "call_2", type: "function", function: { name: "time", arguments: "{}" } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: "12C" },
      { role: "tool", tool_call_id: "call_2", content: "noon" },
    ]);
  });

  it("maps function tools, tool_choice, text.format, max_output_tokens and sampling parameters", () => {
    const schema = { type: "object", properties: { a: { type: "string" } } };
    const chat = chatRequestOf({
      model: "chat",
      input: "x",
      tools: [{ type: "function", name: "f", description: "d", parameters: schema, strict: true }],
      tool_choice: { type: "function", name: "f" },
      parallel_tool_calls: false,
      text: { format: { type: "json_schema", name: "out", schema, strict: true } },
      max_output_tokens: 64,
      temperature: 0.2,
      top_p: 0.9,
      metadata: { team: "a" },
      reasoning: { effort: "low" },
      truncation: "auto",
    });
    expect(chat).toMatchObject({
      tools: [{ type: "function", function: { name: "f", description: "d", parameters: schema, strict: true } }],
      tool_choice: { type: "function", function: { name: "f" } },
      parallel_tool_calls: false,
      response_format: { type: "json_schema", json_schema: { name: "out", schema, strict: true } },
      max_completion_tokens: 64,
      temperature: 0.2,
      top_p: 0.9,
      metadata: { team: "a" },
      reasoning_effort: "low",
    });
    expect(chat).not.toHaveProperty("truncation");
  });

  it("maps json_object and asks for a usage chunk when streaming", () => {
    const chat = chatRequestOf({ model: "m", input: "x", text: { format: { type: "json_object" } }, stream: true });
    expect(chat).toMatchObject({
      response_format: { type: "json_object" },
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it.each([
    ["previous_response_id", { previous_response_id: "resp_1" }],
    ["store", { store: true }],
    ["background", { background: true }],
    ["conversation", { conversation: "conv_1" }],
  ])("refuses %s with a 400 naming it", (param, extra) => {
    const e = refusal({ model: "m", input: "x", ...extra });
    expect(e.status).toBe(400);
    expect(e.param).toBe(param);
    expect(e.message).toContain(param);
  });

  it("accepts store: false", () => {
    expect(chatRequestOf({ model: "m", input: "x", store: false }).messages).toHaveLength(1);
  });

  it("refuses a built-in tool with a 400 naming it", () => {
    const e = refusal({ model: "m", input: "x", tools: [{ type: "web_search" }] });
    expect(e.param).toBe("tools[0].type");
    expect(e.message).toContain("web_search");
  });

  it("refuses an item type it cannot translate", () => {
    expect(refusal({ model: "m", input: [{ type: "item_reference", id: "x" }] }).param).toBe("input[0].type");
  });

  it("refuses a missing input and a missing model", () => {
    expect(refusal({ model: "m" }).param).toBe("input");
    expect(refusal({ input: "x" }).param).toBe("model");
  });
});

function completion(message: Record<string, unknown>, finish = "stop"): ChatCompletion {
  return {
    id: "chatcmpl-1",
    object: "chat.completion",
    model: "up-model",
    choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: finish }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_tokens_details: { cached_tokens: 2 } },
  };
}

describe("responseOf", () => {
  it("turns the answer into a message item with output_text and usage into input/output tokens", () => {
    const r = responseOf(completion({ content: "Hello!" }), ECHO);
    expect(r).toMatchObject({
      id: "resp_abc",
      object: "response",
      status: "completed",
      model: "up-model",
      output: [
        {
          id: "msg_abc",
          type: "message",
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text: "Hello!", annotations: [] }],
        },
      ],
      usage: {
        input_tokens: 10,
        output_tokens: 5,
        total_tokens: 15,
        input_tokens_details: { cached_tokens: 2 },
      },
    });
  });

  it("turns tool calls into function_call items", () => {
    const call = { id: "call_9", type: "function", function: { name: "weather", arguments: '{"c":1}' } };
    const r = responseOf(completion({ content: null, tool_calls: [call] }, "tool_calls"), ECHO);
    expect(r["output"]).toEqual([
      {
        id: "fc_abc_0",
        type: "function_call",
        status: "completed",
        call_id: "call_9",
        name: "weather",
        arguments: '{"c":1}',
      },
    ]);
  });

  it("is incomplete with max_output_tokens when the answer was cut at the limit", () => {
    const r = responseOf(completion({ content: "Hel" }, "length"), ECHO);
    expect(r).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" } });
  });
});

function chunk(delta: Record<string, unknown>, finish: string | null = null): ChatCompletionChunk {
  return {
    id: "c1",
    object: "chat.completion.chunk",
    model: "up-model",
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
}

function run(chunks: ChatCompletionChunk[]): ResponseEvent[] {
  const s = new ResponsesStream(ECHO);
  const events = [...s.start("up-model"), ...chunks.flatMap((c) => s.chunk(c))];
  s.setUsage({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
  return [...events, ...s.finish()];
}

describe("ResponsesStream", () => {
  it("emits the text events in order with increasing sequence numbers and a completed response", () => {
    const events = run([
      chunk({ role: "assistant", content: "" }),
      chunk({ content: "Hel" }),
      chunk({ content: "lo" }),
      chunk({}, "stop"),
    ]);
    expect(events.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events[6]).toMatchObject({ text: "Hello", item_id: "msg_abc", output_index: 0, content_index: 0 });
    expect(events[9]).toMatchObject({
      response: {
        status: "completed",
        output: [{ type: "message", content: [{ type: "output_text", text: "Hello" }] }],
        usage: { input_tokens: 3, output_tokens: 2, total_tokens: 5 },
      },
    });
  });

  it("emits a function_call item with argument deltas for a tool call", () => {
    const events = run([
      chunk({ role: "assistant", content: "" }),
      chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: "" } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a"' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: ":1}" } }] }),
      chunk({}, "tool_calls"),
    ]);
    expect(events.map((e) => e.type).slice(2)).toEqual([
      "response.output_item.added",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events[2]).toMatchObject({ item: { type: "function_call", call_id: "call_1", name: "f" } });
    expect(events[5]).toMatchObject({ arguments: '{"a":1}' });
    expect(events[7]).toMatchObject({
      response: { output: [{ type: "function_call", call_id: "call_1", name: "f", arguments: '{"a":1}' }] },
    });
  });

  it("ends with response.failed carrying the error when the stream breaks", () => {
    const s = new ResponsesStream(ECHO);
    s.start("up-model");
    s.chunk(chunk({ content: "Hi" }));
    const [failed] = s.fail("upstream_stream_error", "cut");
    expect(failed).toMatchObject({
      type: "response.failed",
      sequence_number: 5,
      response: { status: "failed", error: { code: "upstream_stream_error", message: "cut" } },
    });
  });
});
