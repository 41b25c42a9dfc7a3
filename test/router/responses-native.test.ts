/**
 * POST /v1/responses passed through to a provider that speaks the Responses API natively (ModelProvider
 * capabilities.responses, issue 16): the official SDK's client.responses against the router, a mock OpenAI upstream
 * serving /v1/responses over real HTTP, and a second mock that speaks only chat for the mixed fallbacks.
 */
import { request } from "undici";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import OpenAI from "openai";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { startOpenAIMock, type OpenAIMockHandle } from "../mocks/openai-mock.js";
import { captureLogs, providerYaml, routeYaml, secretYaml, startTestRouter, type TestRouter } from "./harness.js";

const KEYS = { nat: "sk-nat-LEAKME-0123456789abcdef", chat: "sk-chat-LEAKME-0123456789abcdef" };
const PRICE: [number, number, number] = [2, 8, 0.5];
const CACHED = 3;
const POLICY = `  retry: { attempts: 1 }
  circuitBreaker: { consecutiveFailures: 1000, cooldown: 1s }`;

let native: OpenAIMockHandle;
let chat: OpenAIMockHandle;
let t: TestRouter;
const logs = captureLogs();

beforeAll(async () => {
  [native, chat] = await Promise.all([startOpenAIMock({ chunks: 3, cachedTokens: CACHED }), startOpenAIMock()]);
  const pinned = (first: string, second: string) =>
    `  candidates: [{ name: ${first} }, { name: ${second} }]\n  baseline: { name: ${first} }\n  rules: [{ name: all, match: {}, pin: [${first}, ${second}] }]\n${POLICY}`;
  const yaml = [
    providerYaml("nat", {
      url: native.url,
      score: 80,
      price: PRICE,
      capabilities: "{ tools: true, jsonMode: true, streaming: true, responses: true }",
    }),
    providerYaml("chat", { url: chat.url, score: 80, price: [1, 2] }),
    secretYaml(KEYS),
    routeYaml("native", `  candidates: [{ name: nat }]\n  baseline: { name: nat }\n${POLICY}`),
    routeYaml("native-first", pinned("nat", "chat")),
    routeYaml("chat-first", pinned("chat", "nat")),
  ].join("");
  t = await startTestRouter({ yaml, logger: logs.logger });
});

afterAll(async () => {
  await t.stop();
  await Promise.all([native.close(), chat.close()]);
});

beforeEach(() => {
  native.requests.length = 0;
  chat.requests.length = 0;
});

afterEach(() => {
  native.setFaults(null);
  chat.setFaults(null);
});

/** The access-log lines of one request id. */
function lineOf(requestId: string): Record<string, unknown>[] {
  return logs.lines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l["requestId"] === requestId && typeof l["outcome"] === "string");
}

async function events(stream: AsyncIterable<ResponseStreamEvent>): Promise<ResponseStreamEvent[]> {
  const out: ResponseStreamEvent[] = [];
  for await (const e of stream) out.push(e);
  return out;
}

/** A raw streaming request (for trailers and for the events of a stream that fails). */
async function rawStream(model: string, input: string, requestId: string) {
  const res = await request(`${t.url}/v1/responses`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": requestId },
    body: JSON.stringify({ model, input, stream: true }),
  });
  const text = await res.body.text();
  const frames = text.split("\n\n").filter((f) => f.startsWith("event: "));
  const parsed = frames.map((f) => JSON.parse(f.slice(f.indexOf("data: ") + 6)) as Record<string, unknown>);
  return { status: res.statusCode, headers: res.headers, trailers: res.trailers, text, events: parsed };
}

describe("router: POST /v1/responses passed through to a native provider", () => {
  it("sends the upstream the client's Responses body, not a chat request, and returns its response as is", async () => {
    const r = await t.client.responses.create({ model: "native", instructions: "Be brief.", input: "Say hello" });
    expect(native.requests).toHaveLength(1);
    const sent = native.requests[0];
    expect(sent?.url).toBe("/v1/responses");
    expect(sent?.headers.authorization).toBe(`Bearer ${KEYS.nat}`);
    expect(sent?.body).toEqual({
      model: "nat-model",
      instructions: "Be brief.",
      input: "Say hello",
      store: false,
      stream: false,
    });
    expect(sent?.body).not.toHaveProperty("messages");
    // The upstream's own response object: its id, not one the router made up.
    expect(r.id).toMatch(/^resp_mock_/);
    expect(r.output_text).toBe("Mock reply to: Say hello");
    expect(r.model).toBe("nat-model");
  });

  it("bills the response's usage (cached tokens at the cached price) in the cost headers and the access log", async () => {
    const { data: r, response } = await t.client.responses
      .create({ model: "native", input: "Count my tokens" })
      .withResponse();
    const usage = r.usage;
    if (!usage) throw new Error("no usage");
    expect(usage.input_tokens_details.cached_tokens).toBe(CACHED);
    const cost = ((usage.input_tokens - CACHED) * PRICE[0] + CACHED * PRICE[2] + usage.output_tokens * PRICE[1]) / 1e6;
    expect(Number(response.headers.get("x-routewise-cost-usd"))).toBeCloseTo(cost, 10);
    expect(response.headers.get("x-routewise-usage-estimated")).toBeNull();
    expect(response.headers.get("x-routewise-route")).toBe("native");
    expect(response.headers.get("x-routewise-provider")).toBe("default/nat");
    expect(response.headers.get("x-routewise-model")).toBe("nat-model");
    expect(response.headers.get("x-routewise-feedback-token")).toBeTruthy();
    const lines = lineOf(response.headers.get("x-request-id") ?? "");
    expect(lines).toEqual([
      expect.objectContaining({
        msg: "Served response",
        endpoint: "responses",
        upstreamApi: "responses",
        provider: "default/nat",
        outcome: "success",
        status: 200,
        tokens: { input: usage.input_tokens, cachedInput: CACHED, output: usage.output_tokens },
      }),
    ]);
    expect(lines[0]?.["costUsd"]).toBeCloseTo(cost, 10);
  });

  it("relays the upstream's stream event by event, ending with its response.completed", async () => {
    const got = await events(await t.client.responses.create({ model: "native", input: "Stream it", stream: true }));
    expect(native.requests[0]?.body).toMatchObject({ input: "Stream it", stream: true, store: false });
    const types = got.map((e) => e.type);
    expect(types).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(got.map((e) => e.sequence_number)).toEqual(got.map((_, i) => i));
    const text = got.flatMap((e) => (e.type === "response.output_text.delta" ? [e.delta] : [])).join("");
    expect(text).toBe("Mock reply to: Stream it");
    const completed = got[got.length - 1];
    if (completed?.type !== "response.completed") throw new Error("no response.completed");
    expect(completed.response.id).toMatch(/^resp_mock_/);
    expect(completed.response.usage?.input_tokens_details.cached_tokens).toBe(CACHED);
    expect((completed as unknown as { x_routewise: Record<string, unknown> }).x_routewise).toMatchObject({
      route: "native",
      provider: "default/nat",
      usage_estimated: false,
    });
  });

  it("sends the cost and feedback-token trailers of a native stream and bills it from response.completed", async () => {
    const s = await rawStream("native", "Trail me", "native-trailers");
    expect(s.status).toBe(200);
    expect(s.headers["x-routewise-provider"]).toBe("default/nat");
    expect(Number(s.trailers["x-routewise-cost-usd"])).toBeGreaterThan(0);
    expect(s.trailers["x-routewise-feedback-token"]).toBeTruthy();
    const completed = s.events[s.events.length - 1] as { response: { usage: Record<string, number> } };
    const line = lineOf("native-trailers")[0];
    expect(line).toMatchObject({ msg: "Served response", upstreamApi: "responses", outcome: "success" });
    expect(line?.["tokens"]).toEqual({
      input: completed.response.usage["input_tokens"],
      cachedInput: CACHED,
      output: completed.response.usage["output_tokens"],
    });
    expect(line?.["costUsd"]).toBeCloseTo(Number(s.trailers["x-routewise-cost-usd"]), 8);
  });
});

describe("router: POST /v1/responses, fallbacks between native and chat-translated providers", () => {
  it("falls back from a failed native attempt to a chat provider, translating for it", async () => {
    native.setFaults({ status: 503 });
    const { data: r, response } = await t.client.responses
      .create({ model: "native-first", input: "Rescue me" })
      .withResponse();
    expect(native.requests[0]?.url).toBe("/v1/responses");
    expect(chat.requests[0]?.url).toBe("/v1/chat/completions");
    expect(chat.requests[0]?.body).toMatchObject({ messages: [{ role: "user", content: "Rescue me" }] });
    expect(r.output_text).toBe("Mock reply to: Rescue me");
    expect(r.id).not.toMatch(/^resp_mock_/);
    expect(response.headers.get("x-routewise-provider")).toBe("default/chat");
    expect(response.headers.get("x-routewise-decision")).toContain("fallback(from=default/nat)");
    const line = lineOf(response.headers.get("x-request-id") ?? "")[0];
    expect(line).toMatchObject({ provider: "default/chat", fallbacks: 1 });
    expect(line).not.toHaveProperty("upstreamApi");
  });

  it("falls back from a chat provider to a native one, passing the request through", async () => {
    chat.setFaults({ status: 503 });
    const r = await t.client.responses.create({ model: "chat-first", input: "Other way round" });
    expect(chat.requests).toHaveLength(1);
    expect(native.requests[0]?.body).toMatchObject({ input: "Other way round", model: "nat-model" });
    expect(r.id).toMatch(/^resp_mock_/);
  });

  it("falls back when a native stream fails before its first answer event, the client seeing one stream", async () => {
    native.setFaults({ errorEventAfterChunks: 1, errorEventStatus: 503 });
    const got = await events(
      await t.client.responses.create({ model: "native-first", input: "Stream elsewhere", stream: true }),
    );
    expect(native.requests).toHaveLength(1);
    expect(chat.requests[0]?.body).toMatchObject({ stream: true });
    expect(got.filter((e) => e.type === "response.created")).toHaveLength(1);
    const completed = got[got.length - 1];
    if (completed?.type !== "response.completed") throw new Error("no response.completed");
    const text = got.flatMap((e) => (e.type === "response.output_text.delta" ? [e.delta] : [])).join("");
    expect(text).toBe("Mock reply to: Stream elsewhere");
  });

  it("streams from a native provider after a chat provider failed", async () => {
    chat.setFaults({ status: 503 });
    const got = await events(await t.client.responses.create({ model: "chat-first", input: "Back", stream: true }));
    const completed = got[got.length - 1];
    if (completed?.type !== "response.completed") throw new Error("no response.completed");
    expect(completed.response.id).toMatch(/^resp_mock_/);
  });
});

describe("router: POST /v1/responses, a native stream that breaks", () => {
  it("ends with response.failed (upstream_stream_error) when the upstream is cut mid-stream", async () => {
    native.setFaults({ cutAfterChunks: 5 });
    const s = await rawStream("native", "Cut me off", "native-cut");
    expect(s.status).toBe(200);
    const types = s.events.map((e) => e["type"]);
    expect(types).not.toContain("response.completed");
    expect(s.events[s.events.length - 1]).toMatchObject({
      type: "response.failed",
      sequence_number: s.events.length - 1,
      response: {
        status: "failed",
        id: expect.stringMatching(/^resp_mock_/) as unknown,
        error: { code: "upstream_stream_error" },
      },
    });
    expect(lineOf("native-cut")).toEqual([
      expect.objectContaining({ msg: "Ended stream with an upstream error", outcome: "stream_error" }),
    ]);
  });

  it("never ends a stream that stopped before response.completed as a success", async () => {
    native.setFaults({ omitFinish: true });
    const s = await rawStream("native", "Unfinished", "native-unfinished");
    expect(s.events[s.events.length - 1]).toMatchObject({ type: "response.failed" });
    expect(JSON.stringify(s.events[s.events.length - 1])).toContain("stream ended before response.completed");
    expect(lineOf("native-unfinished")[0]).toMatchObject({ outcome: "stream_error" });
  });
});

describe("router: POST /v1/responses, native upstream errors", () => {
  it("redacts the key from a native upstream's error that echoes it, in the response and the logs", async () => {
    native.setFaults({ status: 401, echoHeaders: true });
    const err = await t.client.responses.create({ model: "native", input: "Leak?" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const e = err as InstanceType<typeof OpenAI.APIError>;
    expect(native.requests[0]?.headers.authorization).toBe(`Bearer ${KEYS.nat}`);
    expect(e.status).toBe(502);
    expect(JSON.stringify(e.error)).toContain("request headers");
    expect(JSON.stringify(e.error)).not.toContain(KEYS.nat);
    expect(logs.lines.join("\n")).not.toContain(KEYS.nat);
  });

  it("redacts the key from a mid-stream error event that echoes it", async () => {
    native.setFaults({ errorEventAfterChunks: 5, echoHeaders: true });
    const s = await rawStream("native", "Leak mid-stream?", "native-leak-stream");
    expect(s.events[s.events.length - 1]).toMatchObject({ type: "response.failed" });
    expect(s.text).toContain("[redacted]");
    expect(s.text).not.toContain(KEYS.nat);
    expect(JSON.stringify(s.trailers)).not.toContain(KEYS.nat);
    expect(logs.lines.join("\n")).not.toContain(KEYS.nat);
  });
});
