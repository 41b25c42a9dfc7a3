/**
 * POST /v1/responses (issue 16): the official SDK's client.responses against the router, which translates to
 * chat completions for a mock OpenAI-compatible upstream over real HTTP, and back.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import OpenAI from "openai";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { startOpenAIMock, type OpenAIMockHandle } from "../mocks/openai-mock.js";
import { mockProvider, route, routerConfig, startJsonRouter, type JsonRouter } from "./json-router.js";

let upstream: OpenAIMockHandle;
let t: JsonRouter;

const WEATHER_TOOL = {
  type: "function" as const,
  name: "get_weather",
  description: "The weather in a city",
  parameters: { type: "object", properties: { query: { type: "string" } }, required: ["query"] },
  strict: false,
};

beforeAll(async () => {
  upstream = await startOpenAIMock();
  const providers = [mockProvider("up", upstream.url, 80, [1, 2])];
  t = await startJsonRouter(routerConfig(providers, [route("chat", ["default/up"], "default/up")]), {
    "default.up": "sk-up",
  });
});

afterAll(async () => {
  await t.stop();
  await upstream.close();
});

beforeEach(() => {
  upstream.requests.length = 0;
});

/** The chat request the upstream received last. */
function lastUpstreamBody(): Record<string, unknown> {
  const last = upstream.requests[upstream.requests.length - 1];
  return last?.body as Record<string, unknown>;
}

describe("router: POST /v1/responses, non-streaming", () => {
  it("answers with the upstream's text as output_text, and its usage", async () => {
    const r = await t.client.responses.create({ model: "chat", instructions: "Be brief.", input: "Say hello" });
    expect(r.object).toBe("response");
    expect(r.id).toMatch(/^resp_/);
    expect(r.status).toBe("completed");
    expect(r.output_text).toBe("Mock reply to: Say hello");
    expect(r.model).toBe("up-model");
    expect(r.usage?.input_tokens).toBeGreaterThan(0);
    expect(r.usage?.output_tokens).toBe(Math.ceil("Mock reply to: Say hello".length / 4));
    expect(r.usage?.total_tokens).toBe((r.usage?.input_tokens ?? 0) + (r.usage?.output_tokens ?? 0));
    expect(lastUpstreamBody()["messages"]).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Say hello" },
    ]);
  });

  it("sets the routing, cost and feedback headers as for a chat completion", async () => {
    const { response } = await t.client.responses.create({ model: "chat", input: "hi" }).withResponse();
    expect(response.headers.get("x-routewise-route")).toBe("chat");
    expect(response.headers.get("x-routewise-provider")).toBe("default/up");
    expect(response.headers.get("x-routewise-model")).toBe("up-model");
    expect(response.headers.get("x-routewise-decision")).toBeTruthy();
    expect(Number(response.headers.get("x-routewise-cost-usd"))).toBeGreaterThan(0);
    expect(response.headers.get("x-routewise-feedback-token")).toBeTruthy();
  });

  it("round-trips a function call: a function_call item, then its function_call_output as input", async () => {
    const input = "Use the tool for Oslo";
    const first = await t.client.responses.create({ model: "chat", input, tools: [WEATHER_TOOL] });
    const call = first.output.find((o) => o.type === "function_call");
    expect(call).toMatchObject({ type: "function_call", name: "get_weather", call_id: "call_mock_1" });
    expect(lastUpstreamBody()["tools"]).toEqual([
      {
        type: "function",
        function: {
          name: "get_weather",
          description: WEATHER_TOOL.description,
          parameters: WEATHER_TOOL.parameters,
          strict: false,
        },
      },
    ]);
    if (call?.type !== "function_call") throw new Error("no function call");
    const second = await t.client.responses.create({
      model: "chat",
      tools: [WEATHER_TOOL],
      input: [
        { role: "user", content: input },
        call,
        { type: "function_call_output", call_id: call.call_id, output: "12C and rain" },
      ],
    });
    expect(second.output_text).toBe(`Mock reply to: ${input}`);
    expect((lastUpstreamBody()["messages"] as unknown[]).slice(1)).toEqual([
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_mock_1", type: "function", function: { name: "get_weather", arguments: call.arguments } },
        ],
      },
      { role: "tool", tool_call_id: "call_mock_1", content: "12C and rain" },
    ]);
  });
});

describe("router: POST /v1/responses, streaming", () => {
  it("streams events whose text deltas concatenate to the answer, ending with response.completed", async () => {
    const stream = await t.client.responses.create({ model: "chat", input: "Stream a greeting", stream: true });
    const events: ResponseStreamEvent[] = [];
    for await (const e of stream) events.push(e);
    const types = events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
    ]);
    expect(types.slice(-4)).toEqual([
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const text = events.flatMap((e) => (e.type === "response.output_text.delta" ? [e.delta] : [])).join("");
    expect(text).toBe("Mock reply to: Stream a greeting");
    const completed = events[events.length - 1];
    if (completed?.type !== "response.completed") throw new Error("no response.completed");
    expect(completed.response.status).toBe("completed");
    expect(completed.response.usage?.output_tokens).toBe(Math.ceil(text.length / 4));
    expect(completed.response.output[0]).toMatchObject({ type: "message", content: [{ type: "output_text", text }] });
    expect(lastUpstreamBody()).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it("streams a tool call as function_call argument deltas", async () => {
    const stream = await t.client.responses.create({
      model: "chat",
      input: "Use the tool please",
      tools: [WEATHER_TOOL],
      stream: true,
    });
    const events: ResponseStreamEvent[] = [];
    for await (const e of stream) events.push(e);
    const args = events.flatMap((e) => (e.type === "response.function_call_arguments.delta" ? [e.delta] : []));
    const done = events.find((e) => e.type === "response.function_call_arguments.done");
    expect(done?.type === "response.function_call_arguments.done" && done.arguments).toBe(args.join(""));
    expect(JSON.parse(args.join(""))).toEqual({ query: "Use the tool please" });
    const completed = events[events.length - 1];
    if (completed?.type !== "response.completed") throw new Error("no response.completed");
    expect(completed.response.output).toMatchObject([{ type: "function_call", name: "get_weather" }]);
  });
});

describe("router: POST /v1/responses, a stream that fails", () => {
  afterEach(() => {
    upstream.setFaults({});
  });

  it("ends with response.failed naming upstream_stream_error when the upstream is cut mid-stream", async () => {
    upstream.setFaults({ cutAfterChunks: 2 });
    const res = await fetch(`${t.url}/v1/responses`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", input: "Cut me off", stream: true }),
    });
    const body = await res.text();
    expect(res.status).toBe(200);
    const events = body
      .split("\n\n")
      .filter((frame) => frame.startsWith("event: "))
      .map((frame) => JSON.parse(frame.slice(frame.indexOf("data: ") + 6)) as { type: string; response?: unknown });
    expect(events[events.length - 1]).toMatchObject({
      type: "response.failed",
      response: { status: "failed", error: { code: "upstream_stream_error" } },
    });
    expect(events.map((e) => e.type)).not.toContain("response.completed");
  });
});

describe("router: POST /v1/responses, refusals", () => {
  it("answers 400 naming previous_response_id, without calling the upstream", async () => {
    const err = await t.client.responses
      .create({ model: "chat", input: "again", previous_response_id: "resp_123" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const e = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect(e.status).toBe(400);
    expect(e.param).toBe("previous_response_id");
    expect(e.message).toContain("previous_response_id");
    expect(upstream.requests).toHaveLength(0);
  });

  it("answers 400 naming a built-in tool", async () => {
    const err = await t.client.responses
      .create({ model: "chat", input: "news?", tools: [{ type: "web_search" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("tools[0].type");
  });

  it("answers 404 model_not_found for an unknown model, as chat completions does", async () => {
    const err = await t.client.responses.create({ model: "nope", input: "x" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
  });
});
