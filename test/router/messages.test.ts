import Anthropic, { APIError } from "@anthropic-ai/sdk";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicMock, TOOL_PREAMBLE } from "../mocks/anthropic-mock.js";
import { startOpenAIMock, type MockHandle } from "../mocks/openai-mock.js";
import { providerYaml, routeYaml, secretYaml, startTestRouter, type TestRouter } from "./harness.js";

const KEYS = { cheap: "sk-cheap-SECRET", strong: "sk-strong-SECRET", claude: "sk-ant-SECRET" };
const CLIENT_KEY = "sk-client-SECRET";
const FAST_RETRY = `  retry: { attempts: 2, backoff: { base: 10ms, max: 50ms } }
  timeouts: { attempt: 2s, request: 10s }`;

let cheap: MockHandle;
let strong: MockHandle;
let claude: MockHandle;
let t: TestRouter;
let client: Anthropic;

const TOOLS = [
  { name: "lookup", description: "Looks things up", input_schema: { type: "object" as const, properties: {} } },
];
const ask = (text: string) => [{ role: "user" as const, content: text }];

beforeAll(async () => {
  [cheap, strong, claude] = await Promise.all([
    startOpenAIMock({ chunks: 4 }),
    startOpenAIMock({ chunks: 4 }),
    startAnthropicMock({ chunks: 4 }),
  ]);
  const yaml = [
    providerYaml("cheap", { url: cheap.url, score: 60, price: [0.1, 0.2] }),
    providerYaml("strong", { url: strong.url, score: 90, price: [5, 15] }),
    providerYaml("claude", { url: claude.url, type: "anthropic", score: 90, price: [3, 15] }),
    secretYaml(KEYS),
    routeYaml(
      "chat",
      `  candidates: [{ name: cheap }, { name: strong }]\n  baseline: { name: strong }\n  objective: { minQualityRetention: 0.9 }\n${FAST_RETRY}`,
    ),
    routeYaml(
      "pinned",
      `  candidates: [{ name: cheap }, { name: strong }]\n  baseline: { name: strong }\n  rules: [{ name: cheap-first, match: {}, pin: [cheap, strong] }]\n${FAST_RETRY}`,
    ),
    routeYaml("claude-route", `  candidates: [{ name: claude }]\n  baseline: { name: strong }\n${FAST_RETRY}`),
  ].join("");
  t = await startTestRouter({ yaml, apiKeys: { keys: [{ name: "team-a", key: CLIENT_KEY, routes: ["*"] }] } });
  // The SDK sends the key as x-api-key and appends /v1/messages to the base URL.
  client = new Anthropic({ baseURL: t.url, apiKey: CLIENT_KEY, maxRetries: 0 });
});

afterAll(async () => {
  await t.stop();
  await Promise.all([cheap.close(), strong.close(), claude.close()]);
});

afterEach(() => {
  for (const m of [cheap, strong, claude]) m.requests.length = 0;
});

function textOf(message: Anthropic.Message): string {
  return message.content.flatMap((b) => (b.type === "text" ? [b.text] : [])).join("");
}

describe("POST /v1/messages: Anthropic SDK, non-streaming", () => {
  it("answers an Anthropic message from an OpenAI upstream when the route picks one", async () => {
    const { data, response } = await client.messages
      .create({
        model: "chat",
        max_tokens: 100,
        system: "Be brief.",
        messages: ask("hi, what is the capital of France?"),
      })
      .withResponse();
    expect(data).toMatchObject({ type: "message", role: "assistant", stop_reason: "end_turn", model: "cheap-model" });
    expect(textOf(data)).toBe("Mock reply to: hi, what is the capital of France?");
    const sent = cheap.requests[0]?.body as Record<string, unknown>;
    expect(sent).toMatchObject({
      model: "cheap-model",
      max_tokens: 100,
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "hi, what is the capital of France?" },
      ],
    });
    expect(data.usage.input_tokens).toBeGreaterThan(0);
    expect(data.usage.output_tokens).toBeGreaterThan(0);
    expect(response.headers.get("x-routewise-route")).toBe("chat");
    expect(response.headers.get("x-routewise-provider")).toBe("default/cheap");
    expect(response.headers.get("x-routewise-model")).toBe("cheap-model");
    expect(response.headers.get("x-routewise-decision")).toContain("cheapest-meeting-objective");
    expect(Number(response.headers.get("x-routewise-cost-usd"))).toBeGreaterThan(0);
    expect(response.headers.get("x-routewise-feedback-token")).toBeTruthy();
  });

  it("answers from an Anthropic upstream, with its usage, when the route picks one", async () => {
    const { data, response } = await client.messages
      .create({ model: "claude-route", max_tokens: 64, stop_sequences: ["END"], messages: ask("Say hello") })
      .withResponse();
    expect(textOf(data)).toBe("Mock reply to: Say hello");
    expect(data).toMatchObject({ stop_reason: "end_turn", model: "claude-model" });
    const sent = claude.requests[0]?.body as Record<string, unknown>;
    expect(sent).toMatchObject({ model: "claude-model", max_tokens: 64, stop_sequences: ["END"] });
    expect(claude.requests[0]?.headers["x-api-key"]).toBe(KEYS.claude);
    expect(response.headers.get("x-routewise-provider")).toBe("default/claude");
    expect(data.usage.output_tokens).toBe(Math.ceil("Mock reply to: Say hello".length / 4));
  });
});

describe("POST /v1/messages: Anthropic SDK, streaming", () => {
  it("streams Anthropic events whose final message matches the non-streaming answer", async () => {
    const params = { model: "chat", max_tokens: 100, messages: ask("hi, what is the capital of France?") };
    const whole = await client.messages.create(params);
    const { data: stream, response } = await client.messages.create({ ...params, stream: true }).withResponse();
    const events: Anthropic.RawMessageStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const types = events.map((e) => e.type);
    expect(types[0]).toBe("message_start");
    expect(types[1]).toBe("content_block_start");
    expect(types.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"]);
    const text = events.flatMap((e) =>
      e.type === "content_block_delta" && e.delta.type === "text_delta" ? [e.delta.text] : [],
    );
    expect(text.length).toBeGreaterThan(1);
    expect(text.join("")).toBe(textOf(whole));
    const delta = events.find((e) => e.type === "message_delta");
    expect(delta?.type === "message_delta" ? delta.delta.stop_reason : null).toBe("end_turn");
    expect(delta?.type === "message_delta" ? delta.usage.output_tokens : null).toBe(whole.usage.output_tokens);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    expect(response.headers.get("x-routewise-provider")).toBe("default/cheap");
  });

  it("accumulates with the SDK's MessageStream into the same message from an Anthropic upstream", async () => {
    const params = { model: "claude-route", max_tokens: 64, messages: ask("Say hello") };
    const whole = await client.messages.create(params);
    const final = await client.messages.stream(params).finalMessage();
    expect(final.content).toEqual(whole.content);
    expect(final.stop_reason).toBe(whole.stop_reason);
    expect(final.usage.output_tokens).toBe(whole.usage.output_tokens);
    expect(final.usage.input_tokens).toBe(whole.usage.input_tokens);
  });
});

describe("POST /v1/messages: tools", () => {
  it("round-trips a tool_use and its tool_result through an OpenAI upstream", async () => {
    const first = await client.messages.create({
      model: "pinned",
      max_tokens: 100,
      tools: TOOLS,
      tool_choice: { type: "any" },
      messages: ask("use the tool please"),
    });
    expect(first.stop_reason).toBe("tool_use");
    const use = first.content.find((b) => b.type === "tool_use");
    expect(use).toMatchObject({
      type: "tool_use",
      id: "call_mock_1",
      name: "lookup",
      input: { query: "use the tool please" },
    });
    const sent = cheap.requests[0]?.body as Record<string, unknown>;
    expect(sent).toMatchObject({
      tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object", properties: {} } } }],
      tool_choice: "required",
    });
    cheap.requests.length = 0;
    const second = await client.messages.create({
      model: "pinned",
      max_tokens: 100,
      tools: TOOLS,
      messages: [
        ...ask("use the tool please"),
        { role: "assistant", content: first.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "call_mock_1", content: "Paris" }] },
      ],
    });
    expect(second.stop_reason).toBe("end_turn");
    const messages = (cheap.requests[0]?.body as { messages: unknown[] }).messages;
    expect(messages.slice(1)).toMatchObject([
      { role: "assistant", tool_calls: [{ id: "call_mock_1", type: "function", function: { name: "lookup" } }] },
      { role: "tool", tool_call_id: "call_mock_1", content: "Paris" },
    ]);
  });

  it("streams a tool_use block as input_json_delta from an Anthropic upstream", async () => {
    const params = {
      model: "claude-route",
      max_tokens: 100,
      tools: TOOLS,
      messages: ask("use the tool please"),
    };
    const stream = client.messages.stream(params);
    const events: Anthropic.RawMessageStreamEvent[] = [];
    stream.on("streamEvent", (e) => events.push(e));
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe("tool_use");
    expect(final.content).toEqual([
      { type: "text", text: TOOL_PREAMBLE },
      { type: "tool_use", id: "toolu_mock_1", name: "lookup", input: { query: "use the tool please" } },
    ]);
    const json = events.filter((e) => e.type === "content_block_delta" && e.delta.type === "input_json_delta");
    expect(json.length).toBeGreaterThan(1);
    const sent = claude.requests[0]?.body as Record<string, unknown>;
    expect(sent).toMatchObject({ tools: [{ name: "lookup", input_schema: { type: "object" } }], stream: true });
  });
});

describe("POST /v1/messages: errors in Anthropic's shape", () => {
  it("answers 404 not_found_error for an unknown model", async () => {
    const err = await client.messages
      .create({ model: "no-such-model", max_tokens: 10, messages: ask("hi") })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect((err as APIError).status).toBe(404);
    expect((err as APIError).error).toEqual({
      type: "error",
      error: { type: "not_found_error", message: expect.stringContaining('"no-such-model" does not exist') as string },
    });
  });

  it("answers 401 authentication_error for a wrong key", async () => {
    const wrong = new Anthropic({ baseURL: t.url, apiKey: "sk-wrong", maxRetries: 0 });
    const err = await wrong.messages
      .create({ model: "chat", max_tokens: 10, messages: ask("hi") })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((err as APIError).error).toMatchObject({ type: "error", error: { type: "authentication_error" } });
  });

  it("answers 400 invalid_request_error for a body without max_tokens, and for malformed JSON", async () => {
    const headers = { "content-type": "application/json", authorization: `Bearer ${CLIENT_KEY}` };
    const missing = await fetch(`${t.url}/v1/messages`, {
      method: "POST",
      headers,
      body: JSON.stringify({ model: "chat", messages: ask("hi") }),
    });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({
      type: "error",
      error: { type: "invalid_request_error", message: expect.stringContaining("max_tokens") as string },
    });
    const malformed = await fetch(`${t.url}/v1/messages`, { method: "POST", headers, body: "{not json" });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
  });

  it("accepts Authorization: Bearer as well as x-api-key", async () => {
    const res = await fetch(`${t.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT_KEY}` },
      body: JSON.stringify({ model: "chat", max_tokens: 10, messages: ask("hi") }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ type: "message", role: "assistant" });
  });
});
