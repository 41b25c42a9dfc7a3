/**
 * Issue 15: the defects found by driving the router with failing providers and hostile clients, each over real
 * HTTP with the official SDK or raw requests.
 */
import OpenAI from "openai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startOpenAIMock, type MockHandle } from "../mocks/openai-mock.js";
import { providerYaml, routeYaml, secretYaml, startTestRouter, type TestRouter } from "./harness.js";

let a: MockHandle;
let b: MockHandle;
let t: TestRouter | null = null;

const easy = [{ role: "user" as const, content: "hello there" }];

function policy(extra = ""): string {
  return [
    providerYaml("a", { url: a.url, score: 60, price: [0.1, 0.2] }),
    providerYaml("b", { url: b.url, score: 90, price: [5, 15] }),
    secretYaml({ a: "key-a", b: "key-b" }),
    routeYaml(
      "chat",
      `  candidates: [{ name: a }, { name: b }]\n  baseline: { name: b }\n  rules: [{ name: a-first, match: {}, pin: [a, b] }]\n${extra}`,
    ),
  ].join("");
}

beforeEach(async () => {
  [a, b] = await Promise.all([startOpenAIMock(), startOpenAIMock()]);
});

afterEach(async () => {
  await t?.stop();
  t = null;
  await Promise.all([a.close(), b.close()]);
});

async function post(body: unknown): Promise<{ status: number; json: { error?: Record<string, unknown> } }> {
  const res = await fetch(`${t!.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as { error?: Record<string, unknown> } };
}

async function metrics(): Promise<string> {
  return (await fetch(`${t!.metricsUrl}/metrics`)).text();
}

const BREAKER = "  retry: { attempts: 1 }\n  circuitBreaker: { consecutiveFailures: 2, cooldown: 60s }\n";

describe("router: failures the request caused never count against a provider (issue 15 #3)", () => {
  it("answers 400 naming the field for deeply nested JSON and keeps every circuit closed", async () => {
    t = await startTestRouter({ yaml: policy(BREAKER) });
    const deep = `{"model":"chat","messages":[{"role":"user","content":"hi"}],"extra":${"[".repeat(10_000)}${"]".repeat(10_000)}}`;
    for (let i = 0; i < 5; i++) {
      const r = await post(deep);
      expect(r.status).toBe(400);
      expect(r.json.error).toMatchObject({ code: "nesting_too_deep", param: "extra", type: "invalid_request_error" });
    }
    expect(a.requests).toHaveLength(0);
    expect((await t.client.chat.completions.create({ model: "chat", messages: easy })).choices).toHaveLength(1);
    expect(await metrics()).not.toMatch(/routewise_circuit_open\{provider="default\/a"\} 1/);
  });

  it("keeps the circuit closed when the upstream rejects requests as invalid", async () => {
    t = await startTestRouter({ yaml: policy(BREAKER) });
    a.setFaults({ status: 400, times: 4 });
    for (let i = 0; i < 4; i++)
      await expect(t.client.chat.completions.create({ model: "chat", messages: easy })).rejects.toBeInstanceOf(
        OpenAI.BadRequestError,
      );
    const { response } = await t.client.chat.completions.create({ model: "chat", messages: easy }).withResponse();
    expect(response.headers.get("x-routewise-provider")).toBe("default/a");
  });
});

describe("router: rate limits are not outages (issue 15 #9)", () => {
  it("answers 429 with retry-after, never opening a circuit, while every candidate is rate-limited", async () => {
    t = await startTestRouter({ yaml: policy(BREAKER) });
    a.setFaults({ status: 429, retryAfter: "30" });
    b.setFaults({ status: 429, retryAfter: "20" });
    for (let i = 0; i < 6; i++) {
      const r = await post({ model: "chat", messages: easy });
      expect(r.status).toBe(429);
      expect(r.json.error).toMatchObject({ type: "rate_limit_error", code: "upstream_rate_limited" });
    }
    expect(a.requests).toHaveLength(6);
    expect(await metrics()).not.toMatch(/routewise_circuit_open\{provider="default\/[ab]"\} 1/);
  });

  it("keeps 429 and retry-after when the other candidates' circuits are open", async () => {
    t = await startTestRouter({ yaml: policy(BREAKER) });
    a.setFaults({ status: 429, retryAfter: "30" });
    b.setFaults({ status: 500 });
    for (let i = 0; i < 2; i++) await post({ model: "chat", messages: easy });
    expect(await metrics()).toMatch(/routewise_circuit_open\{provider="default\/b"\} 1/);
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "chat", messages: easy }),
    });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("30");
  });
});
