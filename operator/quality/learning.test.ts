import { describe, expect, it } from "vitest";
import { controlFromSums, hasSupport, minAwaySupport } from "../../router/learn/controller.js";
import { estimateFlipRate } from "../../router/learn/learner.js";
import {
  evidenceOf,
  thresholdKey,
  thresholdSums,
  type LearningLabel,
  type RouteEvidence,
} from "../../router/learn/evidence.js";
import {
  evidenceFrom,
  evidenceQueries,
  LEARNING_METRICS,
  rangeFor,
  rangesQuery,
  windowed,
  type EvidenceSamples,
  type LearningMetric,
} from "./learning.js";
import type { VectorSample } from "./prometheus.js";

const target = { key: "ModelRoute/team-a/chat", route: "chat", namespace: "gw", window: 100 };

function label(i: number): LearningLabel {
  return {
    segment: i % 2 === 0 ? "support|qa|d1" : "-|code|d3",
    model: i % 3 === 0 ? "strong-1" : "cheap-1",
    provider: i % 3 === 0 ? "ns/strong" : "ns/cheap",
    baselineProvider: "ns/strong",
    routed: 6 + (i % 4),
    baseline: 8 + (i % 2),
    propensity: 0.9,
    options: [
      { provider: "ns/cheap", predicted: 0.93, cost: 0.1 },
      { provider: "ns/strong", predicted: 1, cost: 1 },
    ],
    baselineCost: 1,
    agreement: { ordered: true, disagreement: i % 10 === 0 ? 1 : 0 },
  };
}

/** The evidence as Prometheus answers the evidence queries: one sample per series, in this gateway's namespace. */
function asSamples(e: RouteEvidence, labels: Record<string, string>, o: { support?: boolean } = {}): EvidenceSamples {
  const out = Object.fromEntries(Object.keys(LEARNING_METRICS).map((m) => [m, []])) as unknown as EvidenceSamples;
  const push = (m: LearningMetric, extra: Record<string, string>, value: number) =>
    out[m].push({ labels: { ...labels, ...extra }, value });
  for (const c of e.cells) {
    const l = { segment: c.segment, model: c.model };
    push("samples", l, c.n);
    push("score", { ...l, side: "routed" }, c.sumRouted);
    push("score", { ...l, side: "baseline" }, c.sumBaseline);
    push("scoreSquared", { ...l, side: "routed" }, c.sumRoutedSq);
    push("scoreSquared", { ...l, side: "baseline" }, c.sumBaselineSq);
    push("scoreProduct", l, c.sumProduct);
  }
  for (const t of e.thresholds) {
    const l = { threshold: thresholdKey(t.threshold) };
    push("thresholdCost", l, t.cost);
    // A router writes both support series at every threshold for every label; an older one writes neither.
    if (o.support ?? true) {
      push("thresholdAway", l, t.away);
      push("thresholdAwayMatched", l, t.matchedAway);
    }
    if (t.matched === 0) continue; // a router creates these series with the first matching label
    push("thresholdLabels", l, t.matched);
    push("thresholdScore", { ...l, side: "routed" }, t.sumRouted);
    push("thresholdScore", { ...l, side: "baseline" }, t.sumBaseline);
    push("thresholdScoreSquared", { ...l, side: "routed" }, t.sumRoutedSq);
    push("thresholdScoreSquared", { ...l, side: "baseline" }, t.sumBaselineSq);
    push("thresholdScoreProduct", l, t.sumProduct);
  }
  push("labels", {}, e.labels);
  push("baselineCost", {}, e.baselineCost);
  push("judgeOrdered", {}, e.judge.ordered);
  push("judgeDisagreements", {}, e.judge.disagreements);
  push("judgeFeedbackPairs", {}, e.judge.feedbackPairs ?? 0);
  push("judgeFeedbackDisagreements", {}, e.judge.feedbackDisagreements ?? 0);
  return out;
}

describe("evidenceFrom", () => {
  it("reads back exactly the evidence the routers' counters hold", () => {
    const e = evidenceOf(Array.from({ length: 60 }, (_, i) => label(i)));
    expect(evidenceFrom(asSamples(e, { route: "chat", namespace: "gw" }), target)).toEqual(e);
  });

  it("reads each threshold's support: the labels it sends away and those judged on its choice", () => {
    const e = evidenceOf(Array.from({ length: 60 }, (_, i) => label(i)));
    const read = evidenceFrom(asSamples(e, { route: "chat", namespace: "gw" }), target);
    // π_t sends every label to ns/cheap (predicted 0.93) up to 0.93, none above; ns/cheap answered 40 of 60.
    expect(read.thresholds.find((t) => thresholdKey(t.threshold) === "0.93")).toMatchObject({
      away: 60,
      matchedAway: 40,
    });
    expect(read.thresholds.find((t) => thresholdKey(t.threshold) === "0.94")).toMatchObject({
      away: 0,
      matchedAway: 0,
    });
  });

  it("reads a router without support series as every label sent away with no support, which passes no threshold", () => {
    const e = evidenceOf(Array.from({ length: 60 }, (_, i) => label(i)));
    const read = evidenceFrom(asSamples(e, { route: "chat", namespace: "gw" }, { support: false }), target);
    expect(read.thresholds.every((t) => t.away === 60 && t.matchedAway === 0)).toBe(true);
    const control = controlFromSums(thresholdSums(read), { objective: 0.9, flipRate: 0 });
    expect(control.met).toBe(false);
    // With the series every threshold has support: 40 of the 60 labels sent to ns/cheap were judged on it (≥ 29).
    expect(e.thresholds.every((t) => hasSupport(t, minAwaySupport(0.9)))).toBe(true);
    expect(read.thresholds.some((t) => hasSupport(t, minAwaySupport(0.9)))).toBe(false);
  });

  it("reads the judge's feedback pairs, which raise the flip rate the learner corrects for", () => {
    const e = evidenceOf(Array.from({ length: 60 }, (_, i) => label(i)));
    const paired = { ...e, judge: { ...e.judge, feedbackPairs: 40, feedbackDisagreements: 10 } };
    const read = evidenceFrom(asSamples(paired, { route: "chat", namespace: "gw" }), target);
    expect(read.judge).toEqual({ ordered: 60, disagreements: 6, feedbackPairs: 40, feedbackDisagreements: 10 });
    // 6 of 60 position disagreements alone: f ≈ 0.053; 10 of 40 users disagreeing with the judge: f = 0.25.
    expect(estimateFlipRate(read.judge)).toBeCloseTo(0.25, 6);
    expect(estimateFlipRate(e.judge)).toBeLessThan(0.06);
  });

  it("ignores another gateway's routers serving the same route name", () => {
    const mine = evidenceOf([label(1), label(2)]);
    const theirs = evidenceOf(Array.from({ length: 9 }, (_, i) => label(i)));
    const a = asSamples(mine, { route: "chat", namespace: "gw" });
    const b = asSamples(theirs, { route: "chat", namespace: "other" });
    const both = Object.fromEntries(
      Object.keys(a).map((m) => [m, [...a[m as LearningMetric], ...b[m as LearningMetric]]]),
    ) as EvidenceSamples;
    expect(evidenceFrom(both, target).labels).toBe(2);
  });

  it("reads series without a namespace label when Prometheus adds none", () => {
    const e = evidenceOf([label(1)]);
    expect(evidenceFrom(asSamples(e, { route: "chat" }), target).labels).toBe(1);
  });
});

describe("rangeFor", () => {
  const counts = (pairs: [string, number][]): VectorSample[] =>
    pairs.map(([range, value]) => ({ labels: { route: "chat", namespace: "gw", range }, value }));

  it("takes the shortest range holding the window's labels", () => {
    expect(
      rangeFor(
        counts([
          ["15m", 20],
          ["30m", 40],
          ["1h", 100],
          ["2h", 180],
        ]),
        target,
      ),
    ).toBe("1h");
  });

  it("takes the longest range when none holds the window", () => {
    expect(rangeFor(counts([["7d", 50]]), target)).toBe("7d");
  });
});

describe("queries", () => {
  it("take each counter's exact increase over the range, a series new within it whole", () => {
    expect(windowed("x", "1h")).toBe("((x - x offset 1h) >= 0 or x)");
  });

  it("sum every replica's series by the evidence's labels, cells only from series with a segment", () => {
    const q = evidenceQueries(["chat", "gpt-4o.mini"], "2h");
    expect(q.samples).toBe(
      'sum by (namespace, route, segment, model) (((routewise_evaluation_samples_total{route=~"chat|gpt-4o\\\\.mini",segment!=""} - routewise_evaluation_samples_total{route=~"chat|gpt-4o\\\\.mini",segment!=""} offset 2h) >= 0 or routewise_evaluation_samples_total{route=~"chat|gpt-4o\\\\.mini",segment!=""}))',
    );
    expect(q.thresholdScore).toContain("sum by (namespace, route, threshold, side)");
    expect(q.labels).toContain("sum by (namespace, route) (");
  });

  it("count labels over every range in one query", () => {
    const q = rangesQuery(["chat"]);
    expect(q.match(/label_replace/g)).toHaveLength(11);
    expect(q).toContain('"range", "7d"');
  });
});
