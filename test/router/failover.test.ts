/**
 * The failover contract (issue 15, docs/adr/0008-failover-contract.md), one clause per describe, over real HTTP:
 * the router in-process, OpenAI- and Anthropic-compatible mock upstreams with injected faults.
 */
import OpenAI from "openai";
import { request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicMock } from "../mocks/anthropic-mock.js";
import { defaultReply } from "../mocks/mock-server.js";
import { startOpenAIMock, type MockHandle } from "../mocks/openai-mock.js";
import { providerYaml, routeYaml, secretYaml, startTestRouter, type TestRouter } from "./harness.js";

const PROMPT = "please tell me about failover in routers";
const FULL = defaultReply(PROMPT);
const messages = [{ role: "user" as const, content: PROMPT }];

let a: MockHandle;
let b: MockHandle;
let c: MockHandle;
let t: TestRouter;

const FAST = `  retry: { attempts: 2, backoff: { base: 10ms, max: 20ms } }
  timeouts: { attempt: 1s, request: 10s, firstToken: 400ms, streamIdle: 400ms }
  circuitBreaker: { consecutiveFailures: 1000, cooldown: 1s }`;

function route(name: string, pin: string[], extra = ""): string {
  return routeYaml(
    name,
    `  candidates: [{ name: a }, { name: b }, { name: c }]\n  baseline: { name: b }\n  rules: [{ name: order, match: {}, pin: [${pin.join(", ")}] }]\n${FAST}\n${extra}`,
  );
}

function window(yaml: string, tokens: number): string {
  return yaml.replace("contextWindow: 100000", `contextWindow: ${tokens}`);
}

beforeAll(async () => {
  [a, b, c] = await Promise.all([
    startOpenAIMock({ chunks: 6 }),
    startOpenAIMock({ chunks: 6 }),
    startAnthropicMock({ chunks: 6 }),
  ]);
  const yaml = [
    window(providerYaml("a", { url: a.url, score: 60, price: [1, 2] }), 50_000),
    providerYaml("b", { url: b.url, score: 90, price: [5, 10] }),
    window(providerYaml("c", { url: c.url, type: "anthropic", score: 85, price: [3, 6] }), 200_000),
    secretYaml({ a: "key-a", b: "key-b", c: "key-c" }),
    route("ab", ["a", "b"]),
    route("abc", ["a", "b", "c"]),
    route("continue", ["a", "b", "c"], "  fallback: { midStream: continue }\n"),
    route("continue-openai-only", ["a", "b"], "  fallback: { midStream: continue }\n"),
    route("a-only", ["a"], "  fallback: { enabled: false }\n"),
    route("c-first", ["c", "a"]),
  ].join("");
  t = await startTestRouter({ yaml });
});

afterAll(async () => {
  await t.stop();
  await Promise.all([a.close(), b.close(), c.close()]);
});

afterEach(() => {
  for (const m of [a, b, c]) {
    m.setFaults(null);
    m.requests.length = 0;
  }
});

interface Streamed {
  status: number;
  headers: Record<string, unknown>;
  trailers: Record<string, unknown>;
  chunks: { id?: string; choices: { delta?: { role?: string; content?: string } }[]; usage?: unknown }[];
  text: string;
  done: boolean;
  error: Record<string, unknown> | null;
  last: Record<string, unknown> | undefined;
}

async function stream(model: string, extra: Record<string, unknown> = {}): Promise<Streamed> {
  const res = await request(`${t.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages, stream: true, ...extra }),
  });
  const body = await res.body.text();
  const out: Streamed = {
    status: res.statusCode,
    headers: res.headers,
    trailers: res.trailers,
    chunks: [],
    text: "",
    done: false,
    error: null,
    last: undefined,
  };
  for (const block of body.split("\n\n")) {
    const data = block.replace(/^data: /, "");
    if (data === "") continue;
    if (data === "[DONE]") {
      out.done = true;
      continue;
    }
    const event = JSON.parse(data) as Record<string, unknown>;
    if ("error" in event) out.error = event["error"] as Record<string, unknown>;
    else out.chunks.push(event as unknown as Streamed["chunks"][number]);
    out.last = event;
  }
  out.text = out.chunks.map((ch) => ch.choices[0]?.delta?.content ?? "").join("");
  return out;
}

async function complete(model: string): Promise<{ status: number; json: Record<string, unknown>; provider: unknown }> {
  const res = await request(`${t.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages }),
  });
  return {
    status: res.statusCode,
    json: (await res.body.json()) as Record<string, unknown>,
    provider: res.headers["x-routewise-provider"],
  };
}

function content(json: Record<string, unknown>): unknown {
  return (json["choices"] as { message: { content: unknown } }[] | undefined)?.[0]?.message.content;
}

async function metrics(): Promise<string> {
  return (await fetch(`${t.metricsUrl}/metrics`)).text();
}

describe("failover: timeouts fail over", () => {
  it("moves a timed-out attempt to the next candidate instead of retrying the silent provider", async () => {
    // Was: the dead primary retried (attempts: 2) before failing over.
    a.setFaults({ hang: true });
    const r = await complete("ab");
    expect(r.status).toBe(200);
    expect(r.provider).toBe("default/b");
    expect(a.requests).toHaveLength(1);
  });

  it("still retries the same provider after a reset", async () => {
    a.setFaults({ resetBeforeHeaders: true, times: 1 });
    const r = await complete("ab");
    expect(r.provider).toBe("default/a");
    expect(a.requests).toHaveLength(2);
  });
});

describe("failover: time to first token (timeouts.firstToken)", () => {
  it("falls back when no content chunk arrives in time, and the client sees only the answering stream", async () => {
    a.setFaults({ firstContentDelayMs: 5_000 });
    const s = await stream("ab");
    expect(s.headers["x-routewise-provider"]).toBe("default/b");
    expect(s.text).toBe(FULL);
    expect(s.done).toBe(true);
    expect(s.chunks.filter((ch) => ch.choices[0]?.delta?.role === "assistant")).toHaveLength(1);
    expect(a.requests).toHaveLength(1);
  });
});

describe("failover: stall deadline (timeouts.streamIdle)", () => {
  it("ends a stream stalled after content with the error event instead of hanging", async () => {
    a.setFaults({ stallAfterChunks: 3 });
    const s = await stream("ab");
    expect(s.status).toBe(200);
    expect(s.done).toBe(false);
    expect(s.error).toMatchObject({ code: "upstream_stream_error", type: "api_error" });
    expect(String(s.error?.["message"])).toContain("streamIdle");
    expect(b.requests).toHaveLength(0);
  });
});

describe("failover: mid-stream failures (fallback.midStream)", () => {
  it("ends with the error event by default when the stream is cut after content", async () => {
    a.setFaults({ cutAfterChunks: 3 });
    const s = await stream("ab");
    expect(s.error).toMatchObject({ code: "upstream_stream_error" });
    expect(s.done).toBe(false);
    expect(FULL.startsWith(s.text)).toBe(true);
  });

  it("continues a cut stream on a candidate that accepts prefill, splicing one clean answer", async () => {
    a.setFaults({ cutAfterChunks: 3 });
    const s = await stream("continue", { stream_options: { include_usage: true } });
    expect(s.text).toBe(FULL);
    expect(s.done).toBe(true);
    expect(s.error).toBeNull();
    expect(b.requests).toHaveLength(0); // an OpenAI-compatible provider cannot continue: skipped
    const sent = c.requests[0]?.body as { messages: { role: string; content: unknown }[] };
    const prefill = sent.messages[sent.messages.length - 1]!;
    expect(prefill.role).toBe("assistant");
    expect(textOf(prefill.content).length).toBeGreaterThan(0);
    expect(FULL.startsWith(textOf(prefill.content))).toBe(true);
    expect(new Set(s.chunks.map((ch) => ch.id)).size).toBe(1);
    const summary = (s.last as { x_routewise: Record<string, unknown> }).x_routewise;
    expect(summary).toMatchObject({ provider: "default/c", continued: { from: "default/a", reason: "reset" } });
    const attempts = summary["attempts"] as { provider: string; cost_usd: number }[];
    expect(attempts.map((x) => x.provider)).toEqual(["default/a", "default/c"]);
    expect(Number(s.trailers["x-routewise-cost-usd"])).toBeCloseTo(attempts[0]!.cost_usd + attempts[1]!.cost_usd, 7);
    expect(s.trailers["x-routewise-continuation"]).toBe("from=default/a; to=default/c; reason=reset");
    expect(await metrics()).toMatch(
      /routewise_cost_usd_total\{route="continue",provider="default\/a",model="a-model",arm="policy"\} 0\.0*[1-9]/,
    );
  });

  it("deduplicates what the continuation repeats of the partial answer", async () => {
    const overlapping = await startAnthropicMock({ chunks: 6, prefillOverlapChars: 7 });
    try {
      const yaml = [
        providerYaml("a", { url: a.url, score: 60, price: [1, 2] }),
        providerYaml("c", { url: overlapping.url, type: "anthropic", score: 85, price: [3, 6] }),
        secretYaml({ a: "key-a", c: "key-c" }),
        routeYaml(
          "continue",
          `  candidates: [{ name: a }, { name: c }]\n  baseline: { name: c }\n  rules: [{ name: order, match: {}, pin: [a, c] }]\n${FAST}\n  fallback: { midStream: continue }\n`,
        ),
      ].join("");
      const other = await startTestRouter({ yaml });
      try {
        a.setFaults({ cutAfterChunks: 4 });
        const res = await fetch(`${other.url}/v1/chat/completions`, {
          method: "POST",
          body: JSON.stringify({ model: "continue", messages, stream: true }),
        });
        const text = (await res.text())
          .split("\n\n")
          .filter((e) => e.startsWith("data: {"))
          .map((e) => JSON.parse(e.slice(6)) as { choices: { delta?: { content?: string } }[] })
          .map((e) => e.choices[0]?.delta?.content ?? "")
          .join("");
        expect(text).toBe(FULL);
      } finally {
        await other.stop();
      }
    } finally {
      await overlapping.close();
    }
  });

  it("continues a stalled stream too", async () => {
    a.setFaults({ stallAfterChunks: 3 });
    const s = await stream("continue");
    expect(s.text).toBe(FULL);
    expect(s.done).toBe(true);
  });

  it("ends with the error event when no remaining candidate accepts prefill", async () => {
    a.setFaults({ cutAfterChunks: 3 });
    const s = await stream("continue-openai-only");
    expect(s.error).toMatchObject({ code: "upstream_stream_error" });
    expect(b.requests).toHaveLength(0);
  });
});

describe("failover: malformed SSE events", () => {
  it("skips and counts malformed events from an OpenAI-compatible upstream, finishing the stream", async () => {
    a.setFaults({ malformedEventsAt: [1, 2, 3, 4] });
    const s = await stream("ab");
    expect(s.text).toBe(FULL);
    expect(s.done).toBe(true);
    expect(s.headers["x-routewise-provider"]).toBe("default/a");
    expect(await metrics()).toMatch(
      /routewise_upstream_malformed_events_total\{provider="default\/a",model="a-model"\} 4/,
    );
  });

  it("skips and counts malformed events from an Anthropic upstream", async () => {
    c.setFaults({ malformedEventsAt: [2, 3, 4, 5] });
    const s = await stream("c-first");
    expect(s.headers["x-routewise-provider"]).toBe("default/c");
    expect(s.text).toBe(FULL);
    expect(s.done).toBe(true);
    expect(await metrics()).toMatch(
      /routewise_upstream_malformed_events_total\{provider="default\/c",model="c-model"\} 4/,
    );
  });

  it("fails a stream that ends without its finish and terminator", async () => {
    a.setFaults({ omitFinish: true });
    const s = await stream("ab");
    expect(s.error).toMatchObject({ code: "upstream_stream_error" });
    expect(s.done).toBe(false);
  });

  it("fails a stream that sends only malformed events for the stall deadline after content", async () => {
    const before = malformedCount(await metrics(), "default/a");
    a.setFaults({ garbageAfterChunks: 3 }); // the role chunk and two content chunks, then garbage only
    const s = await stream("ab");
    expect(s.status).toBe(200);
    expect(s.text.length).toBeGreaterThan(0);
    expect(s.error).toMatchObject({ code: "upstream_stream_error", type: "api_error" });
    expect(String(s.error?.["message"])).toContain("streamIdle");
    expect(s.done).toBe(false);
    expect(malformedCount(await metrics(), "default/a")).toBeGreaterThan(before);
  });

  it("falls back when an upstream sends only malformed events before any content", async () => {
    a.setFaults({ garbageAfterChunks: 1 }); // the role chunk, then garbage only: nothing reached the client
    const s = await stream("ab");
    expect(s.headers["x-routewise-provider"]).toBe("default/b");
    expect(s.text).toBe(FULL);
    expect(s.done).toBe(true);
    expect(a.requests).toHaveLength(1);
  });
});

function malformedCount(text: string, provider: string): number {
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`routewise_upstream_malformed_events_total{provider="${provider}"`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("failover: request-shaped rejections", () => {
  const rejection = (code: string | null, message: string, param: string | null = null) =>
    JSON.stringify({ error: { message, type: "invalid_request_error", param, code } });

  it("moves a context_length_exceeded to the candidate with the larger window first", async () => {
    a.setFaults({
      status: 400,
      errorBody: rejection(
        "context_length_exceeded",
        "This model's maximum context length is 50000 tokens",
        "messages",
      ),
    });
    const r = await complete("abc");
    expect(r.status).toBe(200);
    expect(r.provider).toBe("default/c"); // 200 000 tokens before b's 100 000
    expect(b.requests).toHaveLength(0);
    expect(a.requests).toHaveLength(1);
  });

  it("moves max tokens too large and unsupported parameters to the next candidate", async () => {
    a.setFaults({
      status: 400,
      errorBody: rejection(
        null,
        "max_tokens is too large: 100000. This model supports at most 4096 completion tokens",
        "max_tokens",
      ),
    });
    expect((await complete("ab")).provider).toBe("default/b");
    a.setFaults({
      status: 400,
      errorBody: rejection(
        "unsupported_parameter",
        "Unsupported parameter: 'temperature' is not supported with this model.",
        "temperature",
      ),
    });
    expect((await complete("ab")).provider).toBe("default/b");
  });

  it("keeps the upstream's code when every candidate rejects the request", async () => {
    const body = rejection("context_length_exceeded", "too long", "messages");
    a.setFaults({ status: 400, errorBody: body });
    b.setFaults({ status: 400, errorBody: body });
    const r = await complete("ab");
    expect(r.status).toBe(400);
    expect(r.json["error"]).toMatchObject({
      code: "context_length_exceeded",
      type: "invalid_request_error",
      param: "messages",
    });
    expect(await metrics()).toMatch(
      /routewise_requests_total\{route="ab",[^}]*outcome="upstream_rejected",arm="policy"\} [1-9]/,
    );
  });

  it("propagates a content-filter rejection without routing around it", async () => {
    a.setFaults({
      status: 400,
      errorBody: rejection(
        "content_filter",
        "The response was filtered due to the prompt triggering content management policy.",
        "prompt",
      ),
    });
    const r = await complete("ab");
    expect(r.status).toBe(400);
    expect(r.json["error"]).toMatchObject({ code: "content_filter", type: "invalid_request_error" });
    expect(b.requests).toHaveLength(0);
  });
});

describe("failover: never a truncated success", () => {
  for (const [what, faults] of [
    ["a completion without finish_reason", { omitFinishReason: true }],
    ["a body cut mid-way", { cutBody: true }],
    ["a body that is not JSON", { malformedJson: true }],
    ["an error object in a 200 body", { inBandError: true }],
  ] as const) {
    it(`falls back from ${what}`, async () => {
      a.setFaults(faults);
      const r = await complete("ab");
      expect(r.status).toBe(200);
      expect(r.provider).toBe("default/b");
      expect(content(r.json)).toBe(FULL);
    });

    it(`answers an error, never 200, for ${what} when no one else is left`, async () => {
      a.setFaults(faults);
      const r = await complete("a-only");
      expect(r.status).toBeGreaterThanOrEqual(500);
      expect(r.json).toMatchObject({ error: { type: "api_error" } });
    });
  }

  it("makes the SDK see an upstream error for an in-band error when no one else is left", async () => {
    a.setFaults({ inBandError: true });
    await expect(t.client.chat.completions.create({ model: "a-only", messages })).rejects.toBeInstanceOf(
      OpenAI.APIError,
    );
  });
});

function textOf(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value))
    return value
      .map((b: unknown) => (typeof b === "object" && b !== null && "text" in b ? String(b.text) : ""))
      .join("");
  return "";
}
