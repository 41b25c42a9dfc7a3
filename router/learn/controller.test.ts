import { describe, expect, it } from "vitest";
import { SyntheticStream } from "../../test/mocks/judge-synthetic.js";
import {
  controlThreshold,
  evaluateThreshold,
  labelsForMargin,
  operatingPoint,
  policyChoice,
  sampleRateFor,
  slidingWindow,
  type CandidateOption,
  type ControllerOptions,
  type LoggedLabel,
} from "./controller.js";

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
    { threshold: 0.8, estimate: 0.93, lower: 0.9, matched: 10, savings: 0.8 },
    { threshold: 0.9, estimate: 0.96, lower: 0.94, matched: 10, savings: 0.6 },
    { threshold: 0.95, estimate: 0.98, lower: 0.96, matched: 10, savings: 0.4 },
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

  it("ends ≤ 5% of 200 streams below the objective where a point-estimate controller ends > 20% (measured 2% vs 36%)", () => {
    const lcb = summarise({ ...setup, mode: "lcb" }, 200);
    const point = summarise({ ...setup, mode: "point" }, 200);
    expect(lcb.below).toBeLessThanOrEqual(0.05);
    expect(point.below).toBeGreaterThan(0.2);
    // The price, a margin: measured mean true retention 0.980 (bound) vs 0.955 (point).
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
