/**
 * Issue 15: the defects found by driving the router with failing providers and hostile clients, each over real
 * HTTP with the official SDK or raw requests.
 */
import { connect } from "node:net";
import OpenAI from "openai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Classifier, ClassifyInput } from "../../router/classify/types.js";
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
      const res = await fetch(`${t.url}/v1/chat/completions`, {
        method: "POST",
        body: JSON.stringify({ model: "chat", messages: easy }),
      });
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("20"); // the shortest the upstreams asked for
      expect(await res.json()).toMatchObject({ error: { type: "rate_limit_error", code: "upstream_rate_limited" } });
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

/** Sends raw bytes on a fresh connection and returns everything the router answers before closing it. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.end(text));
    let out = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => (out += d));
    socket.on("close", () => resolve(out));
    socket.on("error", reject);
  });
}

async function untilIdle(): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await metrics()).includes("routewise_inflight_requests 0") && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
}

describe("router: statuses and accounting (issue 15 #10)", () => {
  it("answers 504 when the route's total timeout passes during an attempt", async () => {
    // Was 502: the attempt cut by the request deadline counted as aborted.
    t = await startTestRouter({ yaml: policy("  timeouts: { attempt: 5s, request: 300ms }\n") });
    a.setFaults({ hang: true });
    const r = await post({ model: "chat", messages: easy });
    expect(r.status).toBe(504);
    expect(r.json.error).toMatchObject({ code: "upstream_timeout", type: "api_error" });
    await untilIdle();
    expect(await metrics()).toMatch(
      /routewise_requests_total\{route="chat",provider="default\/a",model="a-model",outcome="upstream_timeout",arm="policy"\} 1/,
    );
  });

  it("answers 504 when the route's total timeout passes while waiting to retry", async () => {
    t = await startTestRouter({
      yaml: policy(
        "  retry: { attempts: 3, backoff: { base: 2s, max: 2s } }\n  timeouts: { attempt: 5s, request: 400ms }\n",
      ),
    });
    a.setFaults({ status: 503 });
    const r = await post({ model: "chat", messages: easy });
    expect(r.status).toBe(504);
    expect(r.json.error).toMatchObject({ code: "upstream_timeout" });
  });

  it("counts a request whose client went away as client_closed, not upstream_error", async () => {
    t = await startTestRouter({ yaml: policy() });
    a.setFaults({ hang: true });
    const controller = new AbortController();
    const pending = t.client.chat.completions.create({ model: "chat", messages: easy }, { signal: controller.signal });
    while (a.requests.length < 1) await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    await expect(pending).rejects.toThrow();
    await untilIdle();
    const text = await metrics();
    expect(text).toMatch(/routewise_requests_total\{[^}]*outcome="client_closed",arm="policy"\} 1/);
    expect(text).not.toMatch(/outcome="upstream_error"/);
  });

  it("does not say fallback when the first provider answered after a retry", async () => {
    t = await startTestRouter({ yaml: policy("  retry: { attempts: 2, backoff: { base: 10ms, max: 20ms } }\n") });
    a.setFaults({ status: 500, times: 1 });
    const { response } = await t.client.chat.completions.create({ model: "chat", messages: easy }).withResponse();
    expect(response.headers.get("x-routewise-provider")).toBe("default/a");
    expect(response.headers.get("x-routewise-decision")).not.toContain("fallback");
    a.setFaults({ status: 500 });
    const again = await t.client.chat.completions.create({ model: "chat", messages: easy }).withResponse();
    expect(again.response.headers.get("x-routewise-decision")).toMatch(/^fallback\(from=default\/a\); /);
  });

  it("answers protocol errors Node detects itself with OpenAI-shaped JSON", async () => {
    t = await startTestRouter({ yaml: policy() });
    const cases: [string, string, number, string][] = [
      [
        "header too large",
        `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
        431,
        "request_header_fields_too_large",
      ],
      [
        "content-length with transfer-encoding",
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        400,
        "bad_request",
      ],
      ["NUL in a header", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0000b\r\n\r\n", 400, "bad_request"],
    ];
    for (const [what, request, status, code] of cases) {
      const answer = await raw(t.router.port, request);
      expect(answer, what).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(answer.toLowerCase(), what).toContain("content-type: application/json");
      const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as { error: Record<string, unknown> };
      expect(Object.keys(body.error).sort(), what).toEqual(["code", "message", "param", "type"]);
      expect(body.error["type"], what).toBe("invalid_request_error");
      expect(body.error["code"], what).toBe(code);
      expect(answer.toLowerCase(), what).toContain("connection: close");
    }
  });

  it("exports routewise_circuit_open at 0 for every provider as soon as a config loads", async () => {
    t = await startTestRouter({ yaml: policy() });
    const text = await metrics();
    expect(text).toContain('routewise_circuit_open{provider="default/a"} 0');
    expect(text).toContain('routewise_circuit_open{provider="default/b"} 0');
  });
});

describe("router: huge prompts (issue 15 #8)", () => {
  function spy(): Classifier & { seen: ClassifyInput[] } {
    const seen: ClassifyInput[] = [];
    return {
      name: "spy",
      seen,
      classify: (input) => {
        seen.push(input);
        return { task: "chat", domain: "general", difficulty: 0.1, confidence: 1, source: "spy" };
      },
    };
  }

  it("refuses a prompt too long for every candidate before classifying it", async () => {
    const classifier = spy();
    t = await startTestRouter({
      yaml: policy().replace("rules: [{ name: a-first, match: {}, pin: [a, b] }]", ""),
      classifier,
    });
    const r = await post({ model: "chat", messages: [{ role: "user", content: "word ".repeat(600_000) }] });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ code: "context_length_exceeded", param: "messages" });
    expect(classifier.seen).toHaveLength(0);
  });

  it("gives the classifier a bounded input when a long prompt fits", async () => {
    const classifier = spy();
    t = await startTestRouter({ yaml: policy(), classifier });
    const content = "word ".repeat(50_000);
    expect(
      (await t.client.chat.completions.create({ model: "chat", messages: [{ role: "user", content }] })).choices,
    ).toHaveLength(1);
    expect(classifier.seen[0]!.prompt.length).toBeLessThan(content.length);
  });
});
