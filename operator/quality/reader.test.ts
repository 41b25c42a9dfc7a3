import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { PrometheusClient, type FetchLike } from "./prometheus.js";
import { QualityReader } from "./reader.js";
import type { QualityTarget } from "./reading.js";

const learning: QualityTarget = {
  key: "ModelRoute/team-a/chat",
  route: "chat",
  namespace: "gw",
  shadow: false,
  learningWindow: 100,
};

/** A Prometheus that answers every query with one series per route: 7 labels, and records the queries. */
function setup(targets: QualityTarget[], learningIntervalMs: number) {
  const queries: string[] = [];
  const fetch: FetchLike = (url) => {
    queries.push(decodeURIComponent(new URL(url).searchParams.get("query") ?? ""));
    const result = [{ metric: { route: "chat", namespace: "gw" }, value: [0, "7"] }];
    return Promise.resolve({
      ok: true,
      status: 200,
      json: () => Promise.resolve({ status: "success", data: { resultType: "vector", result } }),
    });
  };
  let now = 0;
  const reader = new QualityReader({
    client: new PrometheusClient({ url: "http://prom:9090", fetch, timeoutMs: 1000 }),
    intervalMs: 1000,
    targets: () => targets,
    onRead: () => undefined,
    logger: pino({ level: "silent" }),
    learningIntervalMs,
    now: () => now,
  });
  const learningQueries = () => queries.filter((q) => q.includes("routewise_learning_labels_total")).length;
  return { reader, learningQueries, advance: (ms: number) => (now += ms) };
}

describe("QualityReader: learning evidence", () => {
  it("reads a learning route's evidence once per learning interval and keeps it in between", async () => {
    const { reader, learningQueries, advance } = setup([learning], 10_000);
    await reader.readOnce();
    const afterFirst = learningQueries();
    expect(afterFirst).toBeGreaterThan(0);
    expect(reader.snapshot().learning.get(learning.key)?.evidence.labels).toBe(7);
    advance(5_000);
    await reader.readOnce();
    expect(learningQueries()).toBe(afterFirst);
    expect(reader.snapshot().learning.get(learning.key)?.range).toBe("7d");
    advance(5_000);
    await reader.readOnce();
    expect(learningQueries()).toBeGreaterThan(afterFirst);
  });

  it("reads no learning evidence for routes that do not learn", async () => {
    const { reader, learningQueries } = setup([{ ...learning, learningWindow: null }], 10_000);
    await reader.readOnce();
    expect(learningQueries()).toBe(0);
    expect(reader.snapshot().learning.size).toBe(0);
  });
});
