import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import type { LearningLabel } from "../learn/evidence.js";
import { createRouterMetrics } from "../metrics/metrics.js";
import { createEvaluationRecorder } from "./evaluation-record.js";
import { LearningLedger } from "./learning-ledger.js";
import { createRecorder, type RecordedSelection } from "./request-record.js";

const pricing = (p: number) => ({ inputPerMillion: p, cachedInputPerMillion: p, outputPerMillion: p });
const cheap = { id: "ns/cheap", model: "cheap-1", pricing: pricing(1) } as ProviderConfig;
const strong = { id: "ns/strong", model: "strong-1", pricing: pricing(10) } as ProviderConfig;
const learning = { tags: [], exploration: 0.1, window: 100 };
const evaluation = { judge: strong.id, sampleRate: 1, maxCostPerHourUSD: null };
const route = { name: "chat", rollout: "enforce", learning, evaluation } as unknown as RouteConfig;
const selection: RecordedSelection = {
  decided: cheap,
  reason: "classifier",
  arm: "policy",
  baseline: strong,
  baselineQuality: 80,
  predict: (p) => (p.id === cheap.id ? 76 : 80),
  propensity: 0.9,
  segment: "-|qa|d1",
  order: [cheap, strong],
};
const tokens = { input: 600_000, cachedInput: 0, output: 400_000, estimated: false };

function setup(o: { sampled?: boolean } = {}) {
  const metrics = createRouterMetrics(undefined, { defaultMetrics: false });
  const ledger = new LearningLedger(4);
  const logger = pino({ level: "silent" });
  const labels: LearningLabel[] = [];
  const evaluations = createEvaluationRecorder(metrics, logger, { ledger, onLabel: (_r, l) => labels.push(l) });
  const recorder = createRecorder({
    metrics,
    logger,
    tokens: { recordTokens: () => undefined },
    now: () => 0,
    learning: { ledger, sampled: () => o.sampled ?? true },
  });
  const answer = (id: string, r: RouteConfig = route, s: RecordedSelection = selection, provider = cheap) => {
    const record = recorder(id);
    record.decided(r, s, 0);
    record.finished({ provider, tokens, outcome: "success", fallbacks: 0 });
  };
  const series = async (name: keyof typeof metrics) =>
    (await (metrics[name] as { get(): Promise<{ values: unknown[] }> }).get()).values as {
      labels: Record<string, string>;
      value: number;
    }[];
  return { metrics, ledger, evaluations, answer, labels, series };
}

describe("learning labels (request record → ledger → evaluation record)", () => {
  it("labels a judged sample of a learning route with its segment, propensity, candidates and costs", async () => {
    const { evaluations, answer, labels, series, ledger } = setup();
    answer("req-1");
    expect(ledger.size).toBe(1);
    evaluations.sample("chat", "cheap-1", { routed: 8, baseline: 9 }, "req-1", { ordered: true, disagreement: 0 });
    expect(ledger.size).toBe(0);
    expect(labels).toEqual([
      {
        segment: "-|qa|d1",
        model: "cheap-1",
        provider: "ns/cheap",
        baselineProvider: "ns/strong",
        routed: 8,
        baseline: 9,
        propensity: 0.9,
        options: [
          { provider: "ns/cheap", predicted: 0.95, cost: 1 },
          { provider: "ns/strong", predicted: 1, cost: 10 },
        ],
        baselineCost: 10,
        agreement: { ordered: true, disagreement: 0 },
      },
    ]);
    const samples = await series("evaluationSamples");
    expect(samples).toEqual([{ labels: { route: "chat", model: "cheap-1", segment: "-|qa|d1" }, value: 1 }]);
    const matched = (await series("learningThresholdLabels")).map((s) => s.labels["threshold"]);
    // The cheap model (predicted 0.95) is the choice up to 0.95.
    expect(matched).toEqual(Array.from({ length: 26 }, (_, i) => ((70 + i) / 100).toFixed(2)));
    const cost = await series("learningThresholdCost");
    expect(cost).toHaveLength(31);
    expect(cost.find((s) => s.labels["threshold"] === "0.96")?.value).toBe(10);
    expect((await series("learningThresholdScore")).find((s) => s.labels["threshold"] === "0.95")).toMatchObject({
      value: 8 / 0.9,
    });
    expect(await series("judgeOrdered")).toEqual([{ labels: { route: "chat" }, value: 1 }]);
  });

  it("writes both support series at every threshold: away up to the cheap model's 0.95, matched there too", async () => {
    const { evaluations, answer, series } = setup();
    answer("req-1");
    evaluations.sample("chat", "cheap-1", { routed: 8, baseline: 9 }, "req-1");
    const value = (xs: { labels: Record<string, string>; value: number }[], t: string) =>
      xs.find((x) => x.labels["threshold"] === t)?.value;
    const away = await series("learningThresholdAway");
    const matched = await series("learningThresholdAwayMatched");
    expect([away.length, matched.length]).toEqual([31, 31]);
    expect([value(away, "0.95"), value(matched, "0.95")]).toEqual([1, 1]);
    expect([value(away, "0.96"), value(matched, "0.96")]).toEqual([0, 0]);
  });

  it("counts a fallback's label away without support (the policy did not choose who answered)", async () => {
    const { evaluations, answer, series } = setup();
    answer("req-1", route, selection, strong);
    evaluations.sample("chat", "strong-1", { routed: 10, baseline: 10 }, "req-1");
    const at = async (name: "learningThresholdAway" | "learningThresholdAwayMatched") =>
      (await series(name)).find((x) => x.labels["threshold"] === "0.90")?.value;
    expect([await at("learningThresholdAway"), await at("learningThresholdAwayMatched")]).toEqual([1, 0]);
  });

  it("adds no segment label (and no learning series) on a route that does not learn", async () => {
    const { evaluations, answer, series } = setup();
    answer("req-1", { ...route, learning: null });
    evaluations.sample("chat", "cheap-1", { routed: 8, baseline: 9 }, "req-1");
    expect(await series("evaluationSamples")).toEqual([{ labels: { route: "chat", model: "cheap-1" }, value: 1 }]);
    expect(await series("learningLabels")).toEqual([]);
  });

  it("leaves nothing for a request judge sampling does not take", () => {
    const { answer, ledger } = setup({ sampled: false });
    answer("req-1");
    expect(ledger.size).toBe(0);
  });

  it("gives a fallback's answer no propensity (the policy chose another provider)", () => {
    const { evaluations, answer, labels } = setup();
    answer("req-1", route, selection, strong);
    evaluations.sample("chat", "strong-1", { routed: 10, baseline: 10 }, "req-1");
    expect(labels[0]).toMatchObject({ provider: "ns/strong", propensity: 0, agreement: null });
  });

  it("labels a shadow route's sample with the decided provider (the routed side)", () => {
    const { evaluations, answer, labels } = setup();
    const shadow = { ...route, rollout: "shadow" } as RouteConfig;
    answer("req-1", shadow, { ...selection, arm: "baseline" }, strong);
    evaluations.sample("chat", "cheap-1", { routed: 7, baseline: 9 }, "req-1");
    expect(labels[0]).toMatchObject({ provider: "ns/cheap", propensity: 0.9 });
  });

  it("forgets a request the evaluator skips or fails, and keeps at most its capacity", () => {
    const { evaluations, answer, ledger } = setup();
    answer("a");
    answer("b");
    evaluations.skipped("a");
    evaluations.failure("chat", "judge_error", "b");
    expect(ledger.size).toBe(0);
    for (const id of ["1", "2", "3", "4", "5"]) answer(id);
    expect(ledger.size).toBe(4);
    expect(ledger.take("1")).toBeUndefined();
    expect(ledger.take("5")).toBeDefined();
  });
});

describe("feedback on a judged request (the judge's flip rate, ADR 12)", () => {
  it("pairs the user's score with this router's verdict once per request, counting a disagreement", async () => {
    const { evaluations, series } = setup();
    evaluations.sample("chat", "cheap-1", { routed: 4, baseline: 9 }, "judged-1");
    evaluations.sample("chat", "cheap-1", { routed: 9, baseline: 9 }, "judged-2");
    // The judge ranked judged-1's routed answer below the baseline; the user liked it: a disagreement.
    evaluations.feedback("chat", "cheap-1", 1, "judged-1");
    evaluations.feedback("chat", "cheap-1", 1, "judged-1"); // sent twice: one pair
    evaluations.feedback("other", "cheap-1", 0, "judged-2"); // another route's token: no pair
    evaluations.feedback("chat", "cheap-1", 1, "judged-2"); // agrees: the routed answer held up
    evaluations.feedback("chat", "cheap-1", 0, "never-judged"); // no verdict here: no pair
    expect((await series("judgeFeedbackPairs")).map((v) => v.value)).toEqual([2]);
    expect((await series("judgeFeedbackDisagreements")).map((v) => v.value)).toEqual([1]);
    expect((await series("feedback")).reduce((n, v) => n + v.value, 0)).toBe(5);
  });
});
