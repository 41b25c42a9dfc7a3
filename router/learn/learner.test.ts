import { describe, expect, it } from "vitest";
import { SyntheticStream } from "../../test/mocks/judge-synthetic.js";
import {
  cellsOf,
  estimateFlipRate,
  feedbackDisagrees,
  learnCell,
  learnTable,
  swapDisagreement,
  type LearnerOptions,
} from "./learner.js";
import { EMPTY_SUMS, sumsOf } from "./sums.js";

const TRUTH = 0.88;
const WRONG_PRIOR = 0.95;

function estimateAt(seed: number, n: number, prior: number, options: LearnerOptions = {}) {
  return learnCell(sumsOf(new SyntheticStream(seed).samples(TRUTH, n)), prior, options);
}

/** Share of seeds whose lower bound is at or below the truth. */
function coverage(n: number, prior: number, options: LearnerOptions, seeds = 200): number {
  let covered = 0;
  for (let seed = 1; seed <= seeds; seed++) if (estimateAt(seed, n, prior, options).lower <= TRUTH) covered++;
  return covered / seeds;
}

describe("learnCell", () => {
  it("returns the declared prior when there are no samples", () => {
    const e = learnCell(EMPTY_SUMS, 0.93);
    expect(e.estimate).toBe(0.93);
    expect(e.samples).toBe(0);
    expect(e.lower).toBeLessThan(0.93 - 0.1);
  });

  it("shrinks toward the prior when samples are few", () => {
    const few = estimateAt(1, 5, WRONG_PRIOR);
    const data = estimateAt(1, 5, WRONG_PRIOR, { priorSamples: 0 });
    // 20 reference pseudo-samples against 5 judged ones: closer to the prior than to the data.
    expect(Math.abs(few.estimate - WRONG_PRIOR)).toBeLessThan(Math.abs(few.estimate - data.estimate));
    expect(Math.abs(few.estimate - WRONG_PRIOR)).toBeLessThan(Math.abs(data.estimate - WRONG_PRIOR));
  });

  it("converges to the truth as samples grow, whatever the prior (|error| at 30, 300, 3000, 30000 samples)", () => {
    const errors = [30, 300, 3000, 30_000].map((n) => Math.abs(estimateAt(7, n, WRONG_PRIOR).estimate - TRUTH));
    // Measured: 0.0199, 0.0077, 0.0047, 0.0002.
    expect(errors[0]).toBeGreaterThan(errors[3]!);
    expect(errors[2]).toBeLessThan(0.01);
    expect(errors[3]).toBeLessThan(0.003);
  });

  it("narrows the bound as samples grow", () => {
    const sds = [30, 300, 3000].map((n) => estimateAt(3, n, WRONG_PRIOR).sd);
    expect(sds[1]).toBeLessThan(sds[0]!);
    expect(sds[2]).toBeLessThan(sds[1]!);
  });

  it("covers the truth in ≥ 93% of 200 seeds without a prior at 50 samples (measured 96%)", () => {
    expect(coverage(50, WRONG_PRIOR, { priorSamples: 0 })).toBeGreaterThanOrEqual(0.93);
  });

  it("covers the truth in ≥ 93% of 200 seeds with a prior at the truth at 10 samples (measured 100%)", () => {
    expect(coverage(10, TRUTH, {})).toBeGreaterThanOrEqual(0.93);
  });

  it("covers the truth in ≥ 93% of 200 seeds with a prior 0.07 too optimistic at 300 samples (measured 93%)", () => {
    expect(coverage(300, WRONG_PRIOR, {})).toBeGreaterThanOrEqual(0.93);
  });

  it("covers the truth in ≥ 93% of 200 seeds with a prior 0.07 too optimistic at 30 samples (measured 95%)", () => {
    expect(coverage(30, WRONG_PRIOR, {})).toBeGreaterThanOrEqual(0.93);
  });

  it("moves the estimate down and widens the bound when the judge flips", () => {
    const sums = sumsOf(new SyntheticStream(5).samples(TRUTH, 500));
    const clean = learnCell(sums, TRUTH, { priorSamples: 0 });
    const noisy = learnCell(sums, TRUTH, { priorSamples: 0, flipRate: 0.15 });
    expect(noisy.sd).toBeGreaterThan(clean.sd * 1.3);
    expect(noisy.lower).toBeLessThan(clean.lower);
  });

  it("recovers the truth from a flipping judge once corrected for its flip rate", () => {
    const judge = { flipRate: 0.15, gradeSd: 0 };
    const sums = sumsOf(new SyntheticStream(11, judge).samples(TRUTH, 20_000));
    const raw = learnCell(sums, TRUTH, { priorSamples: 0 });
    const corrected = learnCell(sums, TRUTH, { priorSamples: 0, flipRate: 0.15 });
    // Flips pull every difference toward a tie: 1 − 0.7·0.12 ≈ 0.92 observed.
    expect(raw.estimate).toBeGreaterThan(TRUTH + 0.02);
    expect(Math.abs(corrected.estimate - TRUTH)).toBeLessThan(0.005);
  });

  it("keeps coverage with a flipping judge when corrected (200 seeds, 300 samples, f = 0.15)", () => {
    const judge = { flipRate: 0.15, gradeSd: 0 };
    let covered = 0;
    let rawCovered = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const sums = sumsOf(new SyntheticStream(seed, judge).samples(TRUTH, 300));
      if (learnCell(sums, TRUTH, { priorSamples: 0, flipRate: 0.15 }).lower <= TRUTH) covered++;
      if (learnCell(sums, TRUTH, { priorSamples: 0 }).lower <= TRUTH) rawCovered++;
    }
    // Measured: corrected 93.5%, uncorrected 0%.
    expect(covered / 200).toBeGreaterThanOrEqual(0.93);
    expect(rawCovered / 200).toBeLessThan(0.5);
  });
});

describe("estimateFlipRate", () => {
  it("recovers the flip rate from swapped-order disagreements", () => {
    const samples = new SyntheticStream(2, { flipRate: 0.1, gradeSd: 0 }).samples(TRUTH, 5000);
    const disagreements = samples.reduce((s, x) => s + swapDisagreement(x.first, x.second), 0);
    expect(estimateFlipRate({ ordered: samples.length, disagreements })).toBeCloseTo(0.1, 1.5);
  });

  it("takes the larger of the swap and the feedback estimates", () => {
    const e = { ordered: 1000, disagreements: 180 }; // d = 0.18 → f = 0.1
    expect(estimateFlipRate(e)).toBeCloseTo(0.1, 6);
    expect(estimateFlipRate({ ...e, feedbackPairs: 100, feedbackDisagreements: 20 })).toBeCloseTo(0.2, 6);
  });

  it("ignores feedback below 30 pairs", () => {
    expect(estimateFlipRate({ ordered: 0, disagreements: 0, feedbackPairs: 29, feedbackDisagreements: 29 })).toBe(0);
  });

  it("caps the flip rate at 0.45", () => {
    expect(estimateFlipRate({ ordered: 10, disagreements: 10 })).toBe(0.45);
  });
});

describe("swapDisagreement", () => {
  it("counts opposite orders as 1, a tie against an order as 0.5, the same order as 0", () => {
    // first: routed in A; second: routed in B.
    expect(swapDisagreement({ scoreA: 8, scoreB: 6 }, { scoreA: 6, scoreB: 8 })).toBe(0);
    expect(swapDisagreement({ scoreA: 8, scoreB: 6 }, { scoreA: 8, scoreB: 6 })).toBe(1);
    expect(swapDisagreement({ scoreA: 7, scoreB: 7 }, { scoreA: 6, scoreB: 8 })).toBe(0.5);
    expect(swapDisagreement({ scoreA: 7, scoreB: 7 }, { scoreA: 7, scoreB: 7 })).toBe(0);
  });
});

describe("feedbackDisagrees", () => {
  it("disagrees when the judge ranks the routed answer worse but the user liked it, and vice versa", () => {
    expect(feedbackDisagrees(6, 8, 1)).toBe(true);
    expect(feedbackDisagrees(8, 8, 0)).toBe(true);
    expect(feedbackDisagrees(6, 8, 0)).toBe(false);
    expect(feedbackDisagrees(9, 8, 1)).toBe(false);
  });
});

describe("learnTable", () => {
  it("emits one sorted entry per cell with samples, the bound rounded down", () => {
    const stream = new SyntheticStream(4);
    const labels = [
      ...stream.samples(0.9, 40).map((s) => ({ ...s, segment: "-|qa|d1", provider: "ns/cheap" })),
      ...stream.samples(0.97, 40).map((s) => ({ ...s, segment: "-|chat|d0", provider: "ns/cheap" })),
      ...stream.samples(0.99, 10).map((s) => ({ ...s, segment: "-|chat|d0", provider: "ns/mid" })),
    ];
    const table = learnTable(cellsOf(labels, () => 0.95));
    expect(table.map((e) => [e.segment, e.provider, e.samples])).toEqual([
      ["-|chat|d0", "ns/cheap", 40],
      ["-|chat|d0", "ns/mid", 10],
      ["-|qa|d1", "ns/cheap", 40],
    ]);
    for (const e of table) {
      expect(e.lower).toBeLessThan(e.estimate);
      expect(Math.round(e.lower * 1e4)).toBe(e.lower * 1e4);
    }
  });
});
