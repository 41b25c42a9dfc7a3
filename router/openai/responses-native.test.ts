import { describe, expect, it } from "vitest";
import {
  answerOfResponse,
  isAnswerEvent,
  nativeRequestOf,
  ResponseEventTally,
  usageOfResponse,
  type ResponsesEvent,
} from "./responses-native.js";

function event(value: Record<string, unknown> & { type: string }): ResponsesEvent {
  return { type: value.type, value, data: JSON.stringify(value) };
}

describe("nativeRequestOf", () => {
  it("keeps the client's body, stream included, with the provider's model and store false", () => {
    const body = { model: "route", input: "hi", stream: true, include: ["reasoning.encrypted_content"] };
    expect(nativeRequestOf(body, "gpt-4o-mini")).toEqual({ ...body, model: "gpt-4o-mini", store: false });
  });
});

describe("usageOfResponse", () => {
  it("reads input, output and cached tokens as chat usage", () => {
    const usage = { input_tokens: 10, input_tokens_details: { cached_tokens: 4 }, output_tokens: 3, total_tokens: 13 };
    expect(usageOfResponse({ usage })).toEqual({
      prompt_tokens: 10,
      completion_tokens: 3,
      total_tokens: 13,
      prompt_tokens_details: { cached_tokens: 4 },
    });
  });

  it("is null when the response has no usable usage", () => {
    expect(usageOfResponse({ usage: null })).toBeNull();
    expect(usageOfResponse({ usage: { input_tokens: "10", output_tokens: 3 } })).toBeNull();
  });
});

describe("answerOfResponse", () => {
  it("joins the message items' text and lists the function calls", () => {
    const output = [
      { type: "reasoning", summary: [] },
      {
        type: "message",
        content: [
          { type: "output_text", text: "Hello " },
          { type: "output_text", text: "there" },
        ],
      },
      { type: "function_call", name: "get_weather", arguments: '{"city":"Oslo"}' },
    ];
    expect(answerOfResponse({ output })).toEqual({
      text: "Hello there",
      toolCalls: [{ name: "get_weather", arguments: '{"city":"Oslo"}' }],
    });
  });
});

describe("isAnswerEvent", () => {
  it("holds the prelude back and commits at the first item", () => {
    expect(isAnswerEvent(event({ type: "response.created" }))).toBe(false);
    expect(isAnswerEvent(event({ type: "response.in_progress" }))).toBe(false);
    expect(isAnswerEvent(event({ type: "response.output_item.added" }))).toBe(true);
  });
});

describe("ResponseEventTally", () => {
  it("assembles the text and function calls the client received", () => {
    const tally = new ResponseEventTally();
    tally.observe(event({ type: "response.output_text.delta", delta: "Hel", sequence_number: 3 }));
    tally.observe(event({ type: "response.output_text.delta", delta: "lo", sequence_number: 4 }));
    const item = { id: "fc_1", type: "function_call", name: "f", arguments: "" };
    tally.observe(event({ type: "response.output_item.added", item, sequence_number: 5 }));
    tally.observe(
      event({ type: "response.function_call_arguments.delta", item_id: "fc_1", delta: '{"a"', sequence_number: 6 }),
    );
    tally.observe(
      event({ type: "response.function_call_arguments.delta", item_id: "fc_1", delta: ":1}", sequence_number: 7 }),
    );
    expect(tally.answer()).toEqual({ text: "Hello", toolCalls: [{ name: "f", arguments: '{"a":1}' }] });
  });

  it("ends a broken stream with response.failed numbered after the last event, with the upstream's response", () => {
    const tally = new ResponseEventTally();
    const response = { id: "resp_up", object: "response", status: "in_progress", model: "gpt-4o-mini", output: [] };
    tally.observe(event({ type: "response.created", response, sequence_number: 0 }));
    tally.observe(event({ type: "response.output_text.delta", delta: "Hi", sequence_number: 4 }));
    expect(tally.failed("upstream_stream_error", "cut")).toEqual({
      type: "response.failed",
      sequence_number: 5,
      response: { ...response, status: "failed", error: { code: "upstream_stream_error", message: "cut" } },
    });
  });

  it("reads the usage of the terminal event's response", () => {
    const tally = new ResponseEventTally();
    const usage = { input_tokens: 7, output_tokens: 2, total_tokens: 9 };
    tally.observe(event({ type: "response.completed", response: { object: "response", usage }, sequence_number: 9 }));
    expect(tally.usage()).toEqual({ prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 });
  });
});
