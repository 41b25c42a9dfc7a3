import { describe, expect, it } from "vitest";
import { SyntheticStream } from "../../test/mocks/judge-synthetic.js";
import {
  controlFromSums,
  controlThreshold,
  evaluateThreshold,
  hasSupport,
  MIN_AWAY_LABELS,
  minAwaySupport,
  labelsForMargin,
  operatingPoint,
  policyChoice,
  sampleRateFor,
  slidingWindow,
  type CandidateOption,
  type ControllerOptions,
  type LoggedLabel,
} from "./controller.js";
import { sumsOf } from "./sums.js";

/**
 * A route with three candidates and a known truth. Difficulty d ~ U(0,1). Declared predictions (what thresholds
 * act on): cheap 1 − 0.25d, mid 1 − 0.10d, strong (baseline) 1. True retention: mid 1 − 0.06d; cheap 1 − 0.15d
 * before the drift and 1 − 0.25d after it (the cheap model got worse), so the declared threshold 0.95 is safe
 * before the drift and too low after it.
 */
const OBJECTIVE = 0.95;
const THRESHOLDS = Array.from({ length: 21 }, (_, i) => 0.8 + i / 100);

function options(d: number): CandidateOption[] {
  return [
    { provider: "cheap", predicted: 1 - 0.25 * d, cost: 0.05 },
    { provider: "mid", predicted: 1 - 0.1 * d, cost: 0.3 },
    { provider: "strong", predicted: 1, cost: 1 },
  ];
}

function trueRetention(provider: string, d: number, drifted: boolean): number {
  if (provider === "cheap") return 1 - (drifted ? 0.25 : 0.15) * d;
  return provider === "mid" ? 1 - 0.06 * d : 1;
}

/** The true retention of π_t: the mean over d of the chosen candidate's retention (E[r]/E[b] = E[ρ]). */
function policyTruth(threshold: number, drifted: boolean): number {
  const grid = 2000;
  let sum = 0;
  for (let i = 0; i < grid; i++) {
    const d = (i + 0.5) / grid;
    sum += trueRetention(policyChoice(options(d), threshold)!.provider, d, drifted);
  }
  return sum / grid;
}

interface StreamSetup {
  seed: number;
  window: number;
  exploration: number;
  /** Labels in the stream and where the drift starts (Infinity: none). */
  length: number;
  driftAt: number;
  mode: "lcb" | "point";
  /** Labels between controller runs. */
  every: number;
  flipRate?: number;
  /** Cumulative: the controller sees every label so far instead of a window. */
  cumulative?: boolean;
}

/** Runs the controller on a stream; returns the final threshold. */
function runStream(s: StreamSetup): number {
  const stream = new SyntheticStream(s.seed, { flipRate: s.flipRate ?? 0, gradeSd: 0.5 });
  const labels: LoggedLabel[] = [];
  const controller: ControllerOptions = { mode: s.mode, thresholds: THRESHOLDS, below: [] };
  let threshold = OBJECTIVE;
  for (let i = 1; i <= s.length; i++) {
    labels.push(logged(stream, threshold, s.exploration, i > s.driftAt));
    if (i % s.every !== 0 || i < Math.min(s.window, 1000)) continue;
    const window = s.cumulative ? labels : slidingWindow(labels, s.window);
    const input = { labels: window, objective: OBJECTIVE, baseline: "strong", flipRate: s.flipRate ?? 0 };
    threshold = controlThreshold(input, controller).threshold;
  }
  return threshold;
}

/** One judged request under the running threshold with exploration. */
function logged(stream: SyntheticStream, threshold: number, exploration: number, drifted: boolean): LoggedLabel {
  const d = stream.random();
  const opts = options(d);
  const policy = policyChoice(opts, threshold)!;
  const explore = stream.random() < exploration;
  const chosen = explore ? opts[Math.floor(stream.random() * opts.length)]! : policy;
  const propensity = (chosen === policy ? 1 - exploration : 0) + exploration / opts.length;
  const sample = stream.sample(trueRetention(chosen.provider, d, drifted));
  return {
    segment: "-|qa|d0",
    provider: chosen.provider,
    routed: sample.routed,
    baseline: sample.baseline,
    options: opts,
    propensity,
  };
}

interface StreamSummary {
  below: number;
  meanTruth: number;
}

function summarise(setup: Omit<StreamSetup, "seed">, seeds: number): StreamSummary {
  let below = 0;
  let sum = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const truth = policyTruth(runStream({ ...setup, seed }), setup.driftAt < setup.length);
    if (truth < OBJECTIVE) below++;
    sum += truth;
  }
  return { below: below / seeds, meanTruth: sum / seeds };
}

describe("policyChoice", () => {
  it("chooses the cheapest option predicted to keep the threshold, else the strongest", () => {
    expect(policyChoice(options(0.1), 0.95)!.provider).toBe("cheap");
    expect(policyChoice(options(0.4), 0.95)!.provider).toBe("mid");
    expect(policyChoice(options(0.9), 0.95)!.provider).toBe("strong");
    expect(policyChoice([{ provider: "a", predicted: 0.5, cost: 1 }], 0.9)!.provider).toBe("a");
  });
});

describe("slidingWindow", () => {
  it("keeps the most recent labels", () => {
    expect(slidingWindow([1, 2, 3, 4], 2)).toEqual([3, 4]);
    expect(slidingWindow([1, 2], 5)).toEqual([1, 2]);
  });
});

describe("evaluateThreshold", () => {
  it("estimates a threshold the router is not running from explored labels (inverse propensity)", () => {
    const stream = new SyntheticStream(3);
    const labels = Array.from({ length: 20_000 }, () => logged(stream, 1, 0.3, false));
    const e = evaluateThreshold({ labels, objective: OBJECTIVE, baseline: "strong" }, 0.9);
    expect(Math.abs(e.estimate - policyTruth(0.9, false))).toBeLessThan(0.01);
    expect(e.lower).toBeLessThan(e.estimate);
  });

  it("has no support for a threshold whose choice was never judged", () => {
    const stream = new SyntheticStream(3);
    const labels = Array.from({ length: 200 }, () => logged(stream, 1, 0, false));
    const e = evaluateThreshold({ labels, objective: OBJECTIVE, baseline: "strong" }, 0.8);
    expect(e.matched).toBeLessThan(labels.length);
    expect(evaluateThreshold({ labels, objective: OBJECTIVE, baseline: "strong" }, 1).savings).toBe(0);
  });

  it("widens the bound for a flipping judge", () => {
    const stream = new SyntheticStream(4);
    const labels = Array.from({ length: 2000 }, () => logged(stream, 0.9, 0.1, false));
    const clean = evaluateThreshold({ labels, objective: OBJECTIVE, baseline: "strong" }, 0.9);
    const noisy = evaluateThreshold({ labels, objective: OBJECTIVE, baseline: "strong", flipRate: 0.1 }, 0.9);
    expect(clean.estimate - clean.lower).toBeLessThan(noisy.estimate - noisy.lower);
  });
});

describe("operatingPoint", () => {
  const curve = [
    { threshold: 0.8, estimate: 0.93, lower: 0.9, matched: 100, away: 100, matchedAway: 90, savings: 0.8 },
    { threshold: 0.9, estimate: 0.96, lower: 0.94, matched: 100, away: 100, matchedAway: 80, savings: 0.6 },
    { threshold: 0.95, estimate: 0.98, lower: 0.96, matched: 100, away: 100, matchedAway: 70, savings: 0.4 },
  ];

  it("picks the cheapest threshold whose lower bound clears the objective", () => {
    expect(operatingPoint(curve, 0.95)).toMatchObject({ threshold: 0.95, met: true, savings: 0.4 });
    expect(operatingPoint(curve, 0.94)).toMatchObject({ threshold: 0.9, met: true });
  });

  it("uses the estimate in point mode", () => {
    expect(operatingPoint(curve, 0.95, "point")).toMatchObject({ threshold: 0.9 });
  });

  it("falls back to the highest threshold when nothing clears", () => {
    expect(operatingPoint(curve, 0.99)).toMatchObject({ threshold: 0.95, met: false });
  });

  it("never takes a threshold with fewer matched away labels than the minimum, and tests past it, in either mode", () => {
    expect(operatingPoint(curve, 0.94, "lcb", 85)).toMatchObject({ threshold: 0.95, met: false });
    expect(operatingPoint(curve, 0.95, "lcb", 75)).toMatchObject({ threshold: 0.95, met: false });
    expect(operatingPoint(curve, 0.94, "lcb", 75)).toMatchObject({ threshold: 0.9, met: true });
    expect(operatingPoint(curve, 0.94, "point", 75)).toMatchObject({ threshold: 0.9, met: true });
  });
});

describe("minAwaySupport", () => {
  it("asks for the rule of three's count at the objective, at least 10", () => {
    expect(minAwaySupport(0.95)).toBe(59);
    expect(minAwaySupport(0.9)).toBe(29);
    expect(minAwaySupport(0.99)).toBe(299);
    expect(minAwaySupport(0.5)).toBe(MIN_AWAY_LABELS);
    expect(minAwaySupport(1)).toBe(Number.POSITIVE_INFINITY);
  });

  it("lets a threshold that sends nothing away pass without support (the baseline)", () => {
    expect(hasSupport({ away: 0, matchedAway: 0 }, 59)).toBe(true);
    expect(hasSupport({ away: 5, matchedAway: 0 }, 59)).toBe(false);
    expect(hasSupport({ away: 500, matchedAway: 59 }, 59)).toBe(true);
  });
});

/**
 * The replay's zero-support case (ADR 12): every label was judged on the baseline, scored alike; half of them are
 * predicted to keep 0.99 on the cheap candidate, so every threshold up to 0.99 sends those away, none judged there.
 */
function zeroSupport(n: number): LoggedLabel[] {
  return Array.from({ length: n }, (_, i) => ({
    segment: "-|qa|d0",
    provider: "strong",
    routed: 9,
    baseline: 9,
    propensity: 1,
    options: [
      { provider: "cheap", predicted: i % 2 === 0 ? 0.99 : 0.8, cost: 0.05 },
      { provider: "strong", predicted: 1, cost: 1 },
    ],
  }));
}

describe("the SLO controller without support", () => {
  it("does not move the threshold to labels no judge saw on the choice (estimate = bound = 1)", () => {
    const input = { labels: zeroSupport(200), objective: OBJECTIVE, baseline: "strong" };
    const r = controlThreshold(input, { thresholds: THRESHOLDS });
    const t099 = r.curve.find((e) => Math.abs(e.threshold - 0.99) < 1e-9)!;
    expect(t099).toMatchObject({ estimate: 1, lower: 1, away: 100, matchedAway: 0 });
    // Only the baseline (t = 1, nothing sent away) is tested: nothing is met, the route keeps its objective.
    expect(r).toMatchObject({ threshold: 1, met: false, savings: 0 });
  });

  it("does not move it on sums either (the replay's 0.71 with 0 of 5 away labels judged)", () => {
    const sums = sumsOf(Array.from({ length: 100 }, () => ({ routed: 9, baseline: 9 })));
    const at = (threshold: number, away: number, cost: number) => ({
      threshold,
      sums,
      matched: 100 - away,
      away,
      matchedAway: 0,
      cost,
      baselineCost: 100,
    });
    const r = controlFromSums([at(0.71, 5, 96), at(1, 0, 100)], { objective: OBJECTIVE, flipRate: 0 });
    expect(r.curve[0]).toMatchObject({ estimate: 1, lower: 1 });
    expect(r).toMatchObject({ threshold: 1, met: false, savings: 0 });
  });

  it("runs the baseline when the supported thresholds that send labels away fail their bound", () => {
    const labels = zeroSupport(200).map((l, i) =>
      i % 2 === 0 && i < 2 * 59 ? { ...l, provider: "cheap", routed: 5 } : l,
    );
    const r = controlThreshold({ labels, objective: OBJECTIVE, baseline: "strong" }, { thresholds: THRESHOLDS });
    expect(r).toMatchObject({ threshold: 1, met: true, savings: 0 });
  });

  it("moves it once enough of the away labels were judged on the choice", () => {
    const labels = zeroSupport(200).map((l, i) => (i % 2 === 0 && i < 2 * 59 ? { ...l, provider: "cheap" } : l));
    const r = controlThreshold({ labels, objective: OBJECTIVE, baseline: "strong" }, { thresholds: THRESHOLDS });
    expect(r.curve.find((e) => Math.abs(e.threshold - 0.99) < 1e-9)).toMatchObject({ away: 100, matchedAway: 59 });
    expect(r.threshold).toBeLessThan(1);
    expect(r.savings).toBeGreaterThan(0);
  });
});

describe("controlThreshold", () => {
  it("reports the savings at the objective and one and two points below it", () => {
    const stream = new SyntheticStream(8);
    const labels = Array.from({ length: 3000 }, () => logged(stream, 0.95, 0.1, false));
    const r = controlThreshold({ labels, objective: OBJECTIVE, baseline: "strong" }, { thresholds: THRESHOLDS });
    expect(r.points.map((p) => p.objective)).toEqual([0.95, 0.94, 0.9299999999999999]);
    expect(r.points[0]!.savings).toBeLessThanOrEqual(r.points[1]!.savings);
    expect(r.points[1]!.savings).toBeLessThanOrEqual(r.points[2]!.savings);
    expect(r.labels).toBe(3000);
  });

  it("converges to the true threshold as the window grows", () => {
    const stream = new SyntheticStream(9);
    const labels = Array.from({ length: 40_000 }, () => logged(stream, 0.9, 0.3, false));
    const r = controlThreshold({ labels, objective: OBJECTIVE, baseline: "strong" }, { thresholds: THRESHOLDS });
    expect(policyTruth(r.threshold, false)).toBeGreaterThanOrEqual(OBJECTIVE);
    expect(policyTruth(r.threshold, false)).toBeLessThan(OBJECTIVE + 0.01);
  });
});

describe("the SLO controller on drifting streams (window 1,000 labels, exploration 0.1)", () => {
  const setup = { window: 1000, exploration: 0.1, length: 5000, driftAt: 2500, every: 500 } as const;

  it("ends ≤ 5% of 200 streams below the objective where a point-estimate controller ends > 20% (measured 0.5% vs 36%)", () => {
    const lcb = summarise({ ...setup, mode: "lcb" }, 200);
    const point = summarise({ ...setup, mode: "point" }, 200);
    expect(lcb.below).toBeLessThanOrEqual(0.05);
    expect(point.below).toBeGreaterThan(0.2);
    // The price, a margin: measured mean true retention 0.985 (bound; 0.980 before the support rule) vs 0.956 (point).
    expect(lcb.meanTruth).toBeGreaterThan(point.meanTruth);
  });

  it("ends fewer streams below the objective with a sliding window than with a cumulative one (50 seeds)", () => {
    const late = { ...setup, length: 6000, driftAt: 4000, mode: "lcb" } as const;
    const windowed = summarise(late, 50);
    const cumulative = summarise({ ...late, cumulative: true }, 50);
    expect(windowed.below).toBeLessThanOrEqual(0.06);
    expect(cumulative.below).toBeGreaterThan(windowed.below + 0.2);
  });
});

describe("labelsForMargin", () => {
  it("sizes the window as labels for a margin and a judge sample rate from traffic", () => {
    expect(labelsForMargin(0.025, 0.25)).toBe(271);
    expect(labelsForMargin(0.0079, 0.25)).toBeGreaterThan(2500);
    expect(sampleRateFor(1000, 20_000)).toBe(0.05);
    expect(sampleRateFor(1000, 0)).toBe(1);
  });
});
