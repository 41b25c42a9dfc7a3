/**
 * POST /v1/embeddings (issue 16) with the official OpenAI SDK: a route's candidates that serve embeddings,
 * cheapest first and without classification; a provider-direct model; vectors, usage, the cost header and the
 * access-log line; 400 embeddings_not_supported when no candidate serves them, 404 for an unknown model, and an
 * upstream failure falling back like chat.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIMock, type OpenAIMockHandle } from "../mocks/openai-mock.js";
import { providerConfig } from "../mocks/provider-config.js";
import { captureLogs } from "./harness.js";
import { mockProvider, route, routerConfig, startJsonRouter, type JsonRouter } from "./json-router.js";

let upstream: OpenAIMockHandle;
let t: JsonRouter;
const logs = captureLogs();

const EMBEDS = { tools: false, vision: false, jsonMode: false, streaming: true, embeddings: true };

const SIMULATED = providerConfig({
  id: "default/sim-embed",
  type: "simulated",
  baseURL: "",
  model: "sim-embedding",
  credentialKey: null,
  pricing: { inputPerMillion: 0.02, outputPerMillion: 0, cachedInputPerMillion: 0.02 },
  capabilities: EMBEDS,
  simulated: { timeToFirstTokenMs: 0, tokensPerSecond: 0, failureRate: 0, outputTokens: 8 },
});

beforeAll(async () => {
  upstream = await startOpenAIMock();
  const embed = { ...mockProvider("embed", upstream.url, 80, [0.1, 0]), capabilities: EMBEDS };
  const pricey = { ...mockProvider("pricey", upstream.url, 90, [5, 0]), capabilities: EMBEDS };
  const chat = mockProvider("chat", upstream.url, 80, [1, 2]);
  const routes = [
    route("embed", ["default/pricey", "default/embed"], "default/pricey"),
    route("sim", ["default/sim-embed"], "default/sim-embed", { exposeProviderModels: true }),
    route("chat-only", ["default/chat"], "default/chat"),
  ];
  t = await startJsonRouter(
    routerConfig([embed, pricey, chat, SIMULATED], routes),
    { "default.embed": "k1", "default.pricey": "k2", "default.chat": "k3" },
    { logger: logs.logger },
  );
});

afterAll(async () => {
  await t.stop();
  await upstream.close();
});

async function refusal(p: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const err: unknown = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof OpenAI.APIError)) throw new Error(`expected an APIError, got ${String(err)}`);
  return err;
}

describe("POST /v1/embeddings", () => {
  it("answers from the cheapest candidate that serves embeddings, with vectors, usage and cost", async () => {
    upstream.requests.length = 0;
    const res = await t.client.embeddings.create({ model: "embed", input: ["one", "two"] }).withResponse();
    expect(res.data.data).toHaveLength(2);
    expect(res.data.data[0]?.embedding[0]).toBeCloseTo(0.6, 5);
    expect(res.data.usage.prompt_tokens).toBe(4);
    expect(res.response.headers.get("x-routewise-provider")).toBe("default/embed");
    expect(Number(res.response.headers.get("x-routewise-cost-usd"))).toBeGreaterThan(0);
    expect(upstream.requests[0]).toMatchObject({ url: "/v1/embeddings", body: { model: "embed-model" } });
  });

  it("returns deterministic unit vectors of the asked dimensions when the model is a simulated direct model", async () => {
    const a = await t.client.embeddings.create({ model: "sim-embedding", input: "hello", dimensions: 16 });
    const b = await t.client.embeddings.create({ model: "sim-embedding", input: "hello", dimensions: 16 });
    const v = a.data[0]?.embedding ?? [];
    expect(v).toHaveLength(16);
    expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    expect(b.data[0]?.embedding).toEqual(v);
    expect(a.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it("falls back to the next candidate when the cheapest fails", async () => {
    upstream.setFaults({ status: 500, times: 1 });
    try {
      const res = await t.client.embeddings.create({ model: "embed", input: "x" }).withResponse();
      expect(res.response.headers.get("x-routewise-provider")).toBe("default/pricey");
    } finally {
      upstream.setFaults(null);
    }
  });

  it("refuses with 400 embeddings_not_supported when no candidate serves embeddings", async () => {
    const err = await refusal(t.client.embeddings.create({ model: "chat-only", input: "x" }));
    expect(err.status).toBe(400);
    expect(err.code).toBe("embeddings_not_supported");
  });

  it("refuses with 404 model_not_found when the model is unknown", async () => {
    const err = await refusal(t.client.embeddings.create({ model: "nope", input: "x" }));
    expect(err.status).toBe(404);
    expect(err.code).toBe("model_not_found");
  });

  it("writes one access-log line with the endpoint, input tokens and cost", async () => {
    const res = await fetch(`${t.url}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "emb-log-1" },
      body: JSON.stringify({ model: "embed", input: "hello" }),
    });
    expect(res.status).toBe(200);
    await res.text();
    const lines = logs.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l["requestId"] === "emb-log-1");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: "Served embeddings request",
      endpoint: "embeddings",
      route: "embed",
      decision: "embeddings",
      tokens: { input: 2, output: 0 },
    });
    expect(lines[0]?.["costUsd"]).toBeGreaterThan(0);
  });
});
