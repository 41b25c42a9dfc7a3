import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import type { OpenStream } from "../dispatch/stream.js";
import { relayStream } from "../dispatch/relay.js";
import { createRouterMetrics } from "../metrics/metrics.js";
import type { ChatCompletionChunk } from "../openai/types.js";
import { UpstreamError } from "../providers/types.js";
import { createRecorder, type RecordedSelection } from "./request-record.js";

const provider = {
  id: "cheap",
  type: "openai",
  model: "m",
  pricing: { inputPerMillion: 1, cachedInputPerMillion: 0.5, outputPerMillion: 2 },
} as ProviderConfig;
const baselineProvider: ProviderConfig = {
  ...provider,
  id: "strong",
  pricing: { inputPerMillion: 10, cachedInputPerMillion: 5, outputPerMillion: 20 },
};
const route = { name: "assistant" } as RouteConfig;
const selection: RecordedSelection = {
  decided: provider,
  reason: "classifier",
  arm: "policy",
  baseline: baselineProvider,
  baselineQuality: 80,
  predict: () => 70,
};
const tokens = { input: 10, cachedInput: 0, output: 5, estimated: false };

function setup() {
  const metrics = createRouterMetrics(undefined, { defaultMetrics: false });
  const recorded: [string, number][] = [];
  const charged: [string[], number][] = [];
  const record = createRecorder({
    metrics,
    logger: pino({ level: "silent" }),
    tokens: { recordTokens: (id, n) => recorded.push([id, n]) },
    now: () => 0,
    spend: { charge: (keys, usd) => charged.push([keys.map((k) => `${k.scope}:${k.name}`), usd]) },
  })("req-1");
  const requests = async () => (await metrics.requests.get()).values.filter((v) => v.value > 0);
  const inflight = async () => (await metrics.inflight.get()).values[0]?.value;
  return { metrics, record, recorded, charged, requests, inflight };
}

function chunk(content: string): ChatCompletionChunk {
  return { id: "c", object: "chat.completion.chunk", model: "m", choices: [{ index: 0, delta: { content } }] };
}

/** A stream whose first chunk arrived and that fails on the next read. */
function failingStream(): { stream: OpenStream; ends: string[] } {
  const ends: string[] = [];
  const rest: AsyncIterator<ChatCompletionChunk> = {
    next: () => Promise.reject(new UpstreamError("reset", "upstream cut the stream")),
  };
  return { stream: { head: [chunk("Hel")], rest, end: (o) => ends.push(o) }, ends };
}

describe("RequestRecord", () => {
  it("records exactly one outcome when a stream fails after its first chunk", async () => {
    const { record, requests, recorded } = setup();
    record.decided(route, selection, 0.001);
    const { stream, ends } = failingStream();
    const written: ChatCompletionChunk[] = [];
    const relay = await relayStream(
      stream,
      { write: (c) => written.push(c), gone: () => false },
      AbortSignal.timeout(5_000),
    );
    expect(written).toHaveLength(1);
    expect(relay.error?.message).toBe("upstream cut the stream");
    record.finished({
      provider,
      tokens,
      outcome: "stream_error",
      fallbacks: 0,
      streamError: relay.error?.message ?? "",
    });
    // A later failure report (e.g. from an error handler) must not count the request a second time.
    record.failed({ provider, code: "upstream_error" });
    record.finished({ provider, tokens, outcome: "success", fallbacks: 0 });
    expect(await requests()).toEqual([
      expect.objectContaining({
        value: 1,
        labels: { route: "assistant", provider: "cheap", model: "m", outcome: "stream_error", arm: "policy" },
      }),
    ]);
    expect(ends).toEqual(["stream_error"]);
    expect(recorded).toEqual([["cheap", 15]]);
  });

  it("counts a request no candidate answered once, with the client error's code", async () => {
    const { record, requests } = setup();
    record.decided(route, selection, 0.001);
    record.failed({ provider, code: "upstream_timeout" });
    record.failed({ provider, code: "upstream_error" });
    const counted = await requests();
    expect(counted.map((v) => [v.value, v.labels["outcome"]])).toEqual([[1, "upstream_timeout"]]);
  });

  it("writes one access-log line at info (a served one when the response ends), to the request-log sink whatever the log level, and builds none for neither", () => {
    const metrics = createRouterMetrics(undefined, { defaultMetrics: false });
    const lines: Record<string, unknown>[] = [];
    const logged: unknown[] = [];
    const logger = (level: string) => pino({ level }, { write: (s: string) => void logged.push(JSON.parse(s)) });
    const recorder = (level: string, sink?: (l: Record<string, unknown>) => void) =>
      createRecorder({
        metrics,
        logger: logger(level),
        tokens: { recordTokens: () => undefined },
        now: () => 0,
        ...(sink ? { sink } : {}),
      });
    const served = recorder("info")("served");
    served.decided(route, selection, 0.001);
    served.finished({ provider, tokens, outcome: "success", fallbacks: 0 });
    served.rejected(500, "internal_error"); // already served: no refusal line
    expect(logged).toEqual([]); // the served line waits for the end of the response
    served.end();
    served.end();
    expect(logged).toEqual([
      expect.objectContaining({ requestId: "served", msg: "Served chat completion", status: 200 }),
    ]);
    const quiet = recorder("warn", (l) => lines.push(l))("sunk");
    quiet.rejected(401, "invalid_api_key");
    expect(lines).toEqual([
      expect.objectContaining({ requestId: "sunk", msg: "Refused chat completion", status: 401 }),
    ]);
    const silent = recorder("warn")("nowhere");
    silent.decided(route, selection, 0.001);
    silent.finished({ provider, tokens, outcome: "success", fallbacks: 0 });
    silent.end();
    expect(logged).toHaveLength(1);
  });

  it("prices the tokens at the answering provider and at the baseline when a request finishes", () => {
    const { record } = setup();
    record.decided(route, selection, 0.001);
    const costs = record.finished({ provider, tokens, outcome: "success", fallbacks: 0 });
    expect(costs.cost).toBeCloseTo((10 * 1 + 5 * 2) / 1e6, 12);
    expect(costs.baseline).toBeCloseTo((10 * 10 + 5 * 20) / 1e6, 12);
  });

  it("labels a shadow route's request with the baseline arm and projects its cost at the decided model", async () => {
    const { record, metrics } = setup();
    const shadow = { name: "pilot", rollout: "shadow" } as RouteConfig;
    record.decided(shadow, { ...selection, arm: "baseline", reason: "shadow" }, 0.001);
    record.finished({ provider: baselineProvider, tokens, outcome: "success", fallbacks: 0 });
    const requests = (await metrics.requests.get()).values;
    expect(requests.map((v) => v.labels["arm"])).toEqual(["baseline"]);
    const projected = (await metrics.projectedCost.get()).values;
    expect(projected[0]?.labels).toEqual({ route: "pilot" });
    expect(projected[0]?.value).toBeCloseTo((10 * 1 + 5 * 2) / 1e6, 12);
  });

  it("leaves the in-flight gauge once however often end is called", async () => {
    const { record, inflight } = setup();
    expect(await inflight()).toBe(1);
    record.end();
    record.end();
    expect(await inflight()).toBe(0);
  });

  it("refuses an outcome before the decision", () => {
    const { record } = setup();
    expect(() => record.failed({ provider, code: "upstream_error" })).toThrow(/before the decision/);
  });
});

describe("RequestRecord budgets (issue 17)", () => {
  it("charges the answer's real cost once to its budgets and to every payer's spend series", async () => {
    const { record, charged, metrics } = setup();
    record.paidBy({
      payers: [
        { scope: "route", name: "assistant" },
        { scope: "key", name: "ns/alice" },
      ],
      counters: [{ scope: "key", name: "ns/alice", period: "day" }],
    });
    record.decided(route, selection, 0.001);
    const costs = record.finished({ provider, tokens, outcome: "success", fallbacks: 0 });
    record.finished({ provider, tokens, outcome: "success", fallbacks: 0 });
    expect(charged).toEqual([[["key:ns/alice"], costs.cost]]);
    const spend = (await metrics.spend.get()).values.map((v) => [v.labels["scope"], v.labels["name"], v.value]);
    expect(spend).toEqual([
      ["route", "assistant", costs.cost],
      ["key", "ns/alice", costs.cost],
    ]);
  });

  it("charges nothing for a request no candidate answered", () => {
    const { record, charged } = setup();
    record.paidBy({
      payers: [{ scope: "route", name: "assistant" }],
      counters: [{ scope: "route", name: "assistant", period: "day" }],
    });
    record.decided(route, selection, 0.001);
    record.failed({ provider, code: "upstream_error" });
    expect(charged).toEqual([]);
  });
});
