import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicMock } from "../mocks/anthropic-mock.js";
import { startOpenAIMock, type MockHandle } from "../mocks/openai-mock.js";
import { providerYaml, routeYaml, secretYaml, startTestRouter, type TestRouter } from "./harness.js";

const KEYS = { cheap: "sk-cheap-SECRET", strong: "sk-strong-SECRET", claude: "sk-ant-SECRET" };
const FAST_RETRY = `  retry: { attempts: 2, backoff: { base: 10ms, max: 50ms } }
  timeouts: { attempt: 1s, request: 5s }
  circuitBreaker: { consecutiveFailures: 50, cooldown: 200ms }`;

let cheap: MockHandle;
let strong: MockHandle;
let claude: MockHandle;
let t: TestRouter;

function policy(extraRoutes = ""): string {
  return [
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
    routeYaml(
      "shadowed",
      `  candidates: [{ name: cheap }, { name: strong }]\n  baseline: { name: strong }\n  objective: { minQualityRetention: 0.9 }\n  rollout: { mode: shadow }`,
    ),
    extraRoutes,
  ].join("");
}

const easy = [{ role: "user" as const, content: "hi, what is the capital of France?" }];

beforeAll(async () => {
  [cheap, strong, claude] = await Promise.all([
    startOpenAIMock({ chunks: 4 }),
    startOpenAIMock({ chunks: 4 }),
    startAnthropicMock({ chunks: 4 }),
  ]);
  t = await startTestRouter({ yaml: policy(), maxBodyBytes: 64 * 1024 });
});

afterAll(async () => {
  await t.stop();
  await Promise.all([cheap.close(), strong.close(), claude.close()]);
});

afterEach(() => {
  for (const m of [cheap, strong, claude]) {
    m.setFaults(null);
    m.requests.length = 0;
  }
});

describe("router: OpenAI SDK, non-streaming", () => {
  it("routes an easy prompt to the cheap candidate and says so in the headers", async () => {
    const { data, response } = await t.client.chat.completions.create({ model: "chat", messages: easy }).withResponse();
    expect(data.choices[0]?.message.content).toContain("Mock reply");
    expect(response.headers.get("x-routewise-route")).toBe("chat");
    expect(response.headers.get("x-routewise-provider")).toBe("default/cheap");
    expect(response.headers.get("x-routewise-model")).toBe("cheap-model");
    expect(response.headers.get("x-routewise-decision")).toContain("cheapest-meeting-objective");
    expect(response.headers.get("x-request-id")).toMatch(/[0-9a-f-]{36}/);
    expect(cheap.requests[0]?.headers.authorization).toBe(`Bearer ${KEYS.cheap}`);
    expect((cheap.requests[0]?.body as { model: string }).model).toBe("cheap-model");
  });

  it("computes cost from upstream usage and the baseline cost from the same tokens", async () => {
    const { data, response } = await t.client.chat.completions.create({ model: "chat", messages: easy }).withResponse();
    const u = data.usage!;
    expect(Number(response.headers.get("x-routewise-cost-usd"))).toBeCloseTo(
      (u.prompt_tokens * 0.1 + u.completion_tokens * 0.2) / 1e6,
      12,
    );
    expect(Number(response.headers.get("x-routewise-baseline-cost-usd"))).toBeCloseTo(
      (u.prompt_tokens * 5 + u.completion_tokens * 15) / 1e6,
      12,
    );
  });

  it("echoes the client's x-request-id", async () => {
    const { response } = await t.client.chat.completions
      .create({ model: "chat", messages: easy }, { headers: { "x-request-id": "abc-123" } })
      .withResponse();
    expect(response.headers.get("x-request-id")).toBe("abc-123");
  });

  it("passes tools, tool_choice, response_format and other parameters through", async () => {
    const tools = [
      { type: "function" as const, function: { name: "lookup", parameters: { type: "object", properties: {} } } },
    ];
    const r = await t.client.chat.completions.create({
      model: "pinned",
      messages: [{ role: "user", content: "use the tool please" }],
      tools,
      tool_choice: "auto",
      temperature: 0.2,
      top_p: 0.9,
      response_format: { type: "json_object" },
    });
    const sent = cheap.requests[0]?.body as Record<string, unknown>;
    expect(sent).toMatchObject({
      tools,
      tool_choice: "auto",
      temperature: 0.2,
      top_p: 0.9,
      response_format: { type: "json_object" },
    });
    const call = r.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === "function" ? call.function.name : null).toBe("lookup");
  });

  it("translates to and from Anthropic Messages", async () => {
    const { data, response } = await t.client.chat.completions
      .create({ model: "claude-route", messages: [{ role: "system", content: "be brief" }, ...easy] })
      .withResponse();
    expect(response.headers.get("x-routewise-provider")).toBe("default/claude");
    expect(data.choices[0]?.message.content).toContain("Mock reply");
    expect(data.usage?.prompt_tokens).toBeGreaterThan(0);
    const sent = claude.requests[0]!;
    expect(sent.headers["x-api-key"]).toBe(KEYS.claude);
    expect(sent.body).toMatchObject({ system: "be brief", model: "claude-model" });
  });

  it("lists routes (and directly addressable models only when a route allows it) in /v1/models", async () => {
    const models = await t.client.models.list();
    expect(models.data.map((m) => m.id).sort()).toEqual(["chat", "claude-route", "pinned", "shadowed"]);
  });

  it("retrieves one model with GET /v1/models/{id}, and answers 404 model_not_found for an unknown one", async () => {
    expect(await t.client.models.retrieve("chat")).toMatchObject({
      id: "chat",
      object: "model",
      owned_by: "routewise",
    });
    const error = await t.client.models.retrieve("no-such-model").catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 404, code: "model_not_found" });
  });

  it("sends everything to the baseline in shadow mode while recording the decision", async () => {
    const { response } = await t.client.chat.completions.create({ model: "shadowed", messages: easy }).withResponse();
    expect(response.headers.get("x-routewise-provider")).toBe("default/strong");
    expect(response.headers.get("x-routewise-decision")).toContain("shadow(would=default/cheap)");
    const metrics = await (await fetch(`${t.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/routewise_decisions_total\{route="shadowed",model="cheap-model",reason="shadow"\} 1/);
  });
});

describe("router: streaming", () => {
  it("relays chunks and ends with [DONE]; the usage chunk carries the cost when asked for", async () => {
    const stream = await t.client.chat.completions.create({
      model: "chat",
      messages: easy,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let last: OpenAI.ChatCompletionChunk | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      last = chunk;
    }
    expect(text).toContain("Mock reply");
    expect(last?.usage?.completion_tokens).toBeGreaterThan(0);
    expect((last as unknown as { x_routewise: { provider: string; cost_usd: number } }).x_routewise).toMatchObject({
      provider: "default/cheap",
    });
  });

  it("omits the usage chunk when the client did not ask for it", async () => {
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", messages: easy, stream: true }),
    });
    const body = await res.text();
    expect(body).not.toContain('"usage"');
    expect(body.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect(res.headers.get("x-routewise-provider")).toBe("default/cheap");
  });

  it("falls back before the first byte when the primary resets the connection", async () => {
    cheap.setFaults({ resetBeforeHeaders: true });
    const { data: stream, response } = await t.client.chat.completions
      .create({ model: "pinned", messages: easy, stream: true })
      .withResponse();
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toContain("Mock reply");
    expect(response.headers.get("x-routewise-provider")).toBe("default/strong");
    expect(response.headers.get("x-routewise-decision")).toContain("fallback(from=default/cheap");
  });

  it("falls back when the primary answers 200 but dies before its first chunk", async () => {
    cheap.setFaults({ resetAfterHeaders: true });
    const { response } = await t.client.chat.completions
      .create({ model: "pinned", messages: easy, stream: true })
      .withResponse();
    expect(response.headers.get("x-routewise-provider")).toBe("default/strong");
  });

  it("ends the stream with an error event when the upstream fails mid-stream", async () => {
    cheap.setFaults({ cutAfterChunks: 2 });
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "pinned", messages: easy, stream: true }),
    });
    const body = await res.text();
    expect(res.status).toBe(200);
    expect(body).toContain('"code":"upstream_stream_error"');
    expect(body).not.toContain("[DONE]");
    expect(strong.requests).toHaveLength(0);
  });

  it("makes the SDK throw on a mid-stream error", async () => {
    // Issue 15: a stream commits at its first content chunk, so the cut comes after one (was cutAfterChunks: 1,
    // right after the role chunk, which now falls back: see the next test).
    cheap.setFaults({ cutAfterChunks: 2 });
    const stream = await t.client.chat.completions.create({ model: "pinned", messages: easy, stream: true });
    await expect(async () => {
      for await (const chunk of stream) expect(chunk).toBeDefined();
    }).rejects.toThrow(/mid-stream/);
  });
});

describe("router: streams commit at their first content chunk (issue 15)", () => {
  it("falls back when the primary is cut after its role chunk, before any content", async () => {
    cheap.setFaults({ cutAfterChunks: 1 });
    const { data: stream, response } = await t.client.chat.completions
      .create({ model: "pinned", messages: easy, stream: true })
      .withResponse();
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toContain("Mock reply");
    expect(response.headers.get("x-routewise-provider")).toBe("default/strong");
  });
});

describe("router: retries and fallbacks", () => {
  it("retries a 503 on the same provider, then falls back, in order", async () => {
    cheap.setFaults({ status: 503 });
    const { response } = await t.client.chat.completions.create({ model: "pinned", messages: easy }).withResponse();
    expect(cheap.requests).toHaveLength(2);
    expect(strong.requests).toHaveLength(1);
    expect(response.headers.get("x-routewise-provider")).toBe("default/strong");
    const metrics = await (await fetch(`${t.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /routewise_fallbacks_total\{route="pinned",from_provider="default\/cheap",to_provider="default\/strong",reason="http_503"\} \d/,
    );
    expect(metrics).toMatch(/routewise_retries_total\{provider="default\/cheap",reason="http_503"\} \d/);
  });

  it("succeeds on the retry when the first attempt fails once", async () => {
    cheap.setFaults({ status: 500, times: 1 });
    const { response } = await t.client.chat.completions.create({ model: "pinned", messages: easy }).withResponse();
    expect(cheap.requests).toHaveLength(2);
    expect(strong.requests).toHaveLength(0);
    expect(response.headers.get("x-routewise-provider")).toBe("default/cheap");
  });

  it("moves on without waiting when retry-after is longer than the backoff cap", async () => {
    cheap.setFaults({ status: 429, retryAfter: "30" });
    const started = Date.now();
    const { response } = await t.client.chat.completions.create({ model: "pinned", messages: easy }).withResponse();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(cheap.requests).toHaveLength(1);
    expect(response.headers.get("x-routewise-provider")).toBe("default/strong");
  });

  it("does not retry or fall back when the upstream rejects the request as invalid", async () => {
    cheap.setFaults({ status: 400 });
    const err = await t.client.chat.completions.create({ model: "pinned", messages: easy }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(cheap.requests).toHaveLength(1);
    expect(strong.requests).toHaveLength(0);
  });
});

describe("router: errors are OpenAI-shaped", () => {
  async function post(
    body: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; json: { error: Record<string, unknown> }; headers: Headers }> {
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
    });
    return { status: res.status, json: (await res.json()) as { error: Record<string, unknown> }, headers: res.headers };
  }

  it("answers 400 for malformed JSON", async () => {
    const r = await post("{not json");
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ type: "invalid_request_error", code: "invalid_json" });
  });

  it("answers 400 naming the field for an invalid request", async () => {
    const r = await post(JSON.stringify({ model: "chat", messages: [{ role: "wizard", content: "x" }] }));
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ param: "messages[0].role" });
    const r2 = await post(JSON.stringify({ model: "chat" }));
    expect(r2.json.error).toMatchObject({ param: "messages" });
  });

  it("answers 404 for an unknown model", async () => {
    const err = await t.client.chat.completions.create({ model: "gpt-17", messages: easy }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
  });

  it("answers 413 for a body over the limit", async () => {
    const r = await post(JSON.stringify({ model: "chat", messages: [{ role: "user", content: "x".repeat(70_000) }] }));
    expect(r.status).toBe(413);
    expect(r.json.error).toMatchObject({ code: "request_too_large" });
  });

  it("answers 429 with retry-after when every candidate is rate-limited", async () => {
    cheap.setFaults({ status: 429, retryAfter: "7" });
    strong.setFaults({ status: 429, retryAfter: "3" });
    const r = await post(JSON.stringify({ model: "pinned", messages: easy }));
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBe("3");
    expect(r.json.error).toMatchObject({ type: "rate_limit_error" });
  });

  it("answers 502 naming each attempt, never a key, when all upstreams fail", async () => {
    cheap.setFaults({ status: 500 });
    strong.setFaults({ status: 502 });
    const r = await post(JSON.stringify({ model: "pinned", messages: easy }));
    expect(r.status).toBe(502);
    const message = String(r.json.error["message"]);
    expect(message).toContain("default/cheap: HTTP 500");
    expect(message).toContain("default/strong: HTTP 502");
    for (const key of Object.values(KEYS)) expect(message).not.toContain(key);
  });

  it("answers 504 when the upstreams time out", async () => {
    cheap.setFaults({ delayHeadersMs: 3_000 });
    strong.setFaults({ delayHeadersMs: 3_000 });
    const r = await post(JSON.stringify({ model: "pinned", messages: easy }));
    expect(r.status).toBe(504);
    expect(r.json.error).toMatchObject({ code: "upstream_timeout" });
  }, 20_000);

  it("answers 404 in OpenAI shape for an unknown path", async () => {
    const res = await fetch(`${t.url}/v1/audio/speech`, { method: "POST" });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { type: "invalid_request_error" } });
  });
});
