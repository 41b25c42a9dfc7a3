/**
 * Tracing (issue 16, docs/adr/0013-tracing.md) over real HTTP: the router in-process with the OTEL_* environment
 * set, mock upstreams with injected faults, the official openai SDK as the client, and a small OTLP/HTTP
 * receiver on loopback that decodes the exported spans.
 */
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startOtlpReceiver, type ExportedSpan, type OtlpReceiver } from "../harness/otlp-receiver.js";
import { defaultReply } from "../mocks/mock-server.js";
import { startOpenAIMock, type MockHandle } from "../mocks/openai-mock.js";
import { providerYaml, routeYaml, secretYaml, startTestRouter, type TestRouter } from "./harness.js";

const PROMPT = "a confidential prompt about the merger TRACE-PROMPT-42";
const KEY_A = "sk-TRACE-SECRET-key-a-1234567890";
const KEY_B = "sk-TRACE-SECRET-key-b-0987654321";
const SERVICE = "routewise-tracing-test";
const SERVER = 2;
const CLIENT = 3;
const INTERNAL = 1;
const ERROR = 2;

const FAST = `  retry: { attempts: 2, backoff: { base: 10ms, max: 20ms } }
  timeouts: { attempt: 5s, request: 10s }
  circuitBreaker: { consecutiveFailures: 1000, cooldown: 1s }`;

function route(name: string, pin: string[], extra = ""): string {
  return routeYaml(
    name,
    `  candidates: [{ name: a }, { name: b }]\n  baseline: { name: b }\n  rules: [{ name: order, match: {}, pin: [${pin.join(", ")}] }]\n${FAST}\n${extra}`,
  );
}

function policy(a: MockHandle, b: MockHandle): string {
  return [
    providerYaml("a", { url: a.url, score: 60, price: [1, 2] }),
    providerYaml("b", { url: b.url, score: 90, price: [5, 10] }),
    secretYaml({ a: KEY_A, b: KEY_B }),
    route("ab", ["a", "b"]),
    route("a-only", ["a"], "  fallback: { enabled: false }\n"),
  ].join("");
}

/** The OTEL_* variables as they were, restored after each suite. */
const OTEL_VARS = [
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
  "OTEL_EXPORTER_OTLP_PROTOCOL",
  "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
  "OTEL_SERVICE_NAME",
  "OTEL_SDK_DISABLED",
];
const saved = Object.fromEntries(OTEL_VARS.map((name) => [name, process.env[name]]));

function setOtelEnv(vars: Record<string, string>): void {
  for (const name of OTEL_VARS) Reflect.deleteProperty(process.env, name);
  Object.assign(process.env, vars);
}

function restoreOtelEnv(): void {
  for (const name of OTEL_VARS) {
    const value = saved[name];
    if (value === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = value;
  }
}

/** A fresh client span: its traceparent, trace id and span id. */
function clientSpan() {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

const messages = [{ role: "user" as const, content: PROMPT }];

async function complete(t: TestRouter, model: string, traceparent: string, requestId?: string) {
  const headers = { traceparent, ...(requestId === undefined ? {} : { "x-request-id": requestId }) };
  return t.client.chat.completions.create({ model, messages }, { headers });
}

/** Polls (bounded, flushing each time) until the request span of `traceId` has been exported; its trace's spans. */
async function exportedTrace(t: TestRouter, receiver: OtlpReceiver, traceId: string): Promise<ExportedSpan[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await t.router.tracing?.flush();
    const spans = receiver.spans().filter((s) => s.traceId === traceId);
    if (spans.some((s) => s.kind === SERVER)) return spans;
    if (Date.now() > deadline) throw new Error(`no request span of trace ${traceId} was exported`);
    await sleep(20);
  }
}

/** The request span, its select child and its attempt children (in start order). */
function tree(spans: ExportedSpan[]) {
  const servers = spans.filter((s) => s.kind === SERVER);
  expect(servers).toHaveLength(1);
  const server = servers[0]!;
  const children = spans.filter((s) => s.parentSpanId === server.spanId);
  expect(children).toHaveLength(spans.length - 1); // nothing else in the trace
  return {
    server,
    select: children.filter((s) => s.name === "routewise.select"),
    attempts: children.filter((s) => s.kind === CLIENT),
  };
}

/** The traceparent headers an upstream received, in order. */
function traceparents(m: MockHandle): string[] {
  return m.requests.map((r) => r.headers["traceparent"]).filter((v): v is string => typeof v === "string");
}

describe("tracing: spans over OTLP/HTTP JSON", () => {
  let receiver: OtlpReceiver;
  let a: MockHandle;
  let b: MockHandle;
  let t: TestRouter;

  beforeAll(async () => {
    [receiver, a, b] = await Promise.all([startOtlpReceiver(), startOpenAIMock(), startOpenAIMock()]);
    setOtelEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: SERVICE,
    });
    t = await startTestRouter({ yaml: policy(a, b) });
  });

  afterAll(async () => {
    await t.stop();
    restoreOtelEnv();
    await Promise.all([receiver.close(), a.close(), b.close()]);
  });

  afterEach(() => {
    a.setFaults(null);
    b.setFaults(null);
  });

  it("exports one server span per request, continuing the client's span, with a select and an attempt child", async () => {
    const client = clientSpan();
    const answer = await complete(t, "ab", client.traceparent, "traced-1");
    const spans = await exportedTrace(t, receiver, client.traceId);
    const { server, select, attempts } = tree(spans);
    expect(server).toMatchObject({ name: "chat ab", parentSpanId: client.spanId, status: 0 });
    expect(server.resource["service.name"]).toBe(SERVICE);
    expect(server.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.request.model": "ab",
      "gen_ai.response.model": "a-model",
      "gen_ai.provider.name": "openai",
      "gen_ai.usage.input_tokens": answer.usage?.prompt_tokens,
      "gen_ai.usage.output_tokens": answer.usage?.completion_tokens,
      "http.response.status_code": 200,
      "routewise.route": "ab",
      "routewise.decision": "rule:order",
      "routewise.request_id": "traced-1",
    });
    expect(server.attributes).not.toHaveProperty("error.type");
    expect(select).toHaveLength(1);
    expect(select[0]).toMatchObject({ kind: INTERNAL, attributes: { "routewise.decided_provider": "default/a" } });
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({
      name: "chat a-model",
      status: 0,
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "a-model",
        "gen_ai.provider.name": "openai",
        "server.address": "127.0.0.1",
        "server.port": a.port,
        "routewise.attempt.outcome": "success",
      },
    });
  });

  it("forwards the attempt span's context upstream, so the upstream's spans nest under the attempt", async () => {
    const client = clientSpan();
    await complete(t, "ab", client.traceparent);
    const { attempts } = tree(await exportedTrace(t, receiver, client.traceId));
    expect(traceparents(a).at(-1)).toBe(`00-${client.traceId}-${attempts[0]!.spanId}-01`);
  });

  it("exports one attempt span per attempt when the first attempt fails and is retried", async () => {
    a.setFaults({ resetBeforeHeaders: true, times: 1 });
    const client = clientSpan();
    await complete(t, "ab", client.traceparent);
    const { server, attempts } = tree(await exportedTrace(t, receiver, client.traceId));
    expect(attempts.map((s) => [s.name, s.attributes["routewise.attempt.outcome"]]).sort()).toEqual([
      ["chat a-model", "reset"],
      ["chat a-model", "success"],
    ]);
    const failed = attempts.find((s) => s.attributes["routewise.attempt.outcome"] === "reset");
    expect(failed).toMatchObject({ status: ERROR, attributes: { "error.type": "reset" } });
    expect(server).toMatchObject({ status: 0, attributes: { "gen_ai.response.model": "a-model" } });
    const mine = traceparents(a).filter((tp) => tp.includes(client.traceId));
    expect(mine.sort()).toEqual(attempts.map((s) => `00-${client.traceId}-${s.spanId}-01`).sort());
  });

  it("exports an attempt span per provider when the request falls back", async () => {
    a.setFaults({ status: 401 });
    const client = clientSpan();
    await complete(t, "ab", client.traceparent);
    const { server, attempts } = tree(await exportedTrace(t, receiver, client.traceId));
    const outcomes = attempts.map((s) => [
      s.name,
      s.attributes["routewise.attempt.outcome"],
      s.attributes["server.port"],
    ]);
    expect(outcomes.sort()).toEqual([
      ["chat a-model", "http_401", a.port],
      ["chat b-model", "success", b.port],
    ]);
    expect(server.attributes).toMatchObject({ "gen_ai.response.model": "b-model", "http.response.status_code": 200 });
  });

  it("marks the request span failed, with error.type, when no candidate answers", async () => {
    a.setFaults({ status: 503 });
    const client = clientSpan();
    await expect(complete(t, "a-only", client.traceparent)).rejects.toMatchObject({ status: 502 });
    const { server, attempts } = tree(await exportedTrace(t, receiver, client.traceId));
    expect(server).toMatchObject({
      name: "chat a-only",
      status: ERROR,
      attributes: {
        "http.response.status_code": 502,
        "error.type": "upstream_error",
        "routewise.provider": "default/a",
      },
    });
    expect(attempts.length).toBeGreaterThan(0);
    for (const s of attempts) expect(s).toMatchObject({ status: ERROR, attributes: { "error.type": "http_503" } });
  });

  it("ends a stream's attempt span with the stream, marking its first chunk", async () => {
    const client = clientSpan();
    const stream = await t.client.chat.completions.create(
      { model: "ab", messages, stream: true },
      { headers: { traceparent: client.traceparent } },
    );
    for await (const _chunk of stream) {
      // drained
    }
    const { server, attempts } = tree(await exportedTrace(t, receiver, client.traceId));
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({
      events: ["routewise.first_chunk"],
      attributes: { "routewise.attempt.outcome": "success" },
    });
    expect(server.attributes["http.response.status_code"]).toBe(200);
  });

  it("starts a new trace when the client sends no traceparent", async () => {
    const before = new Set(receiver.spans().map((s) => s.traceId));
    await t.client.chat.completions.create({ model: "ab", messages }, { headers: { "x-request-id": "no-parent-1" } });
    let server: ExportedSpan | undefined;
    const deadline = Date.now() + 10_000;
    while (server === undefined && Date.now() < deadline) {
      await t.router.tracing?.flush();
      server = receiver.spans().find((s) => s.attributes["routewise.request_id"] === "no-parent-1");
      if (server === undefined) await sleep(20);
    }
    expect(server).toBeDefined();
    expect(server!.parentSpanId).toBe("");
    expect(before.has(server!.traceId)).toBe(false);
  });

  it("never exports a prompt, an answer or a key", async () => {
    const client = clientSpan();
    await complete(t, "ab", client.traceparent);
    await exportedTrace(t, receiver, client.traceId);
    const everything = receiver.exports.map((e) => e.body.toString("utf8")).join("\n");
    for (const secret of [PROMPT, "TRACE-PROMPT-42", defaultReply(PROMPT), KEY_A, KEY_B, "TRACE-SECRET", "client-key"])
      expect(everything).not.toContain(secret);
  });
});

describe("tracing: the default protocol is OTLP/HTTP protobuf", () => {
  let receiver: OtlpReceiver;
  let a: MockHandle;
  let b: MockHandle;
  let t: TestRouter;

  beforeAll(async () => {
    [receiver, a, b] = await Promise.all([startOtlpReceiver(), startOpenAIMock(), startOpenAIMock()]);
    setOtelEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces` });
    t = await startTestRouter({ yaml: policy(a, b) });
  });

  afterAll(async () => {
    await t.stop();
    restoreOtelEnv();
    await Promise.all([receiver.close(), a.close(), b.close()]);
  });

  it("posts protobuf to the traces endpoint, carrying the client's trace id", async () => {
    const client = clientSpan();
    await complete(t, "ab", client.traceparent);
    const traceId = Buffer.from(client.traceId, "hex");
    const deadline = Date.now() + 10_000;
    while (!receiver.exports.some((e) => e.body.includes(traceId)) && Date.now() < deadline) {
      await t.router.tracing?.flush();
      await sleep(20);
    }
    const mine = receiver.exports.filter((e) => e.body.includes(traceId));
    expect(mine.length).toBeGreaterThan(0);
    expect(mine[0]).toMatchObject({ path: "/v1/traces", contentType: "application/x-protobuf" });
    expect(Buffer.concat(mine.map((e) => e.body)).includes(Buffer.from(PROMPT))).toBe(false);
  });
});

describe("tracing: off by default", () => {
  let receiver: OtlpReceiver;
  let a: MockHandle;
  let b: MockHandle;
  const global = new InMemorySpanExporter();
  const globalProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: global })] });

  beforeAll(async () => {
    [receiver, a, b] = await Promise.all([startOtlpReceiver(), startOpenAIMock(), startOpenAIMock()]);
    // Anything that used the global API would record here.
    trace.setGlobalTracerProvider(globalProvider);
  });

  afterAll(async () => {
    trace.disable();
    await globalProvider.shutdown();
    restoreOtelEnv();
    await Promise.all([receiver.close(), a.close(), b.close()]);
  });

  it("creates no span and forwards the client's traceparent unchanged without an OTEL endpoint", async () => {
    setOtelEnv({ OTEL_SERVICE_NAME: SERVICE, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" });
    const t = await startTestRouter({ yaml: policy(a, b) });
    try {
      expect(t.router.tracing).toBeNull();
      const client = clientSpan();
      await complete(t, "ab", client.traceparent);
      expect(traceparents(a).at(-1)).toBe(client.traceparent);
    } finally {
      await t.stop();
    }
    expect(global.getFinishedSpans()).toHaveLength(0);
    expect(receiver.exports).toHaveLength(0);
  });

  it("exports nothing when OTEL_SDK_DISABLED is true, even with an endpoint", async () => {
    setOtelEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SDK_DISABLED: "true" });
    const t = await startTestRouter({ yaml: policy(a, b) });
    try {
      expect(t.router.tracing).toBeNull();
      await complete(t, "ab", clientSpan().traceparent);
    } finally {
      await t.stop();
    }
    expect(global.getFinishedSpans()).toHaveLength(0);
    expect(receiver.exports).toHaveLength(0);
  });
});
