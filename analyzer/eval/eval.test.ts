import { describe, expect, it } from "vitest";
import type { PairRow } from "./eval.js";
import { apgr, costQualitySvg, evaluateMulti, evaluatePair, percentileRanks, routerCurve } from "./eval.js";

// strong always right; weak right on rows 0 and 2. W = 0.5, S = 1.
const rows: PairRow[] = [0, 1, 2, 3].map((i) => ({
  strong: 1,
  weak: i % 2 === 0 ? 1 : 0,
  strongCost: 0.01,
  weakCost: 0.001,
}));

describe("pair metrics", () => {
  it("random is exactly 0.5 APGR, CPT(x) = x", () => {
    const r = evaluatePair(rows, [0, 0, 0, 0], [1, 1, 1, 1]);
    expect(r.random.apgr).toBeCloseTo(0.5, 12);
    expect(r.random.cpt50).toBeCloseTo(0.5, 12);
    expect(r.random.cpt80).toBeCloseTo(0.8, 12);
    // 95% of S = 0.95 -> share 0.9; cost 0.001 + 0.9 * 0.009 = 0.0091 -> saving 9%.
    expect(r.random.strongShareAt95).toBeCloseTo(0.9, 12);
    expect(r.random.savingAt95).toBeCloseTo(0.09, 12);
  });

  it("oracle sends the two gap rows first (hand-computed)", () => {
    const r = evaluatePair(rows, [0, 0, 0, 0], [1, 1, 1, 1]);
    // Curve (0, .5) (.5, 1) (1, 1): AUC = .375 + .5 = .875 -> APGR (.875 - .5) / .5 = .75.
    expect(r.oracle.apgr).toBeCloseTo(0.75, 12);
    expect(r.oracle.cpt50).toBeCloseTo(0.25, 12);
    expect(r.oracle.strongShareAt95).toBeCloseTo(0.45, 12);
    expect(r.oracle.savingAt95).toBeCloseTo(1 - (0.001 + 0.45 * 0.009) / 0.01, 12);
  });

  it("a router that ranks by the true gap equals the oracle; the reverse is worst", () => {
    const good = evaluatePair(rows, [0, 1, 0, 1], [4, 3, 2, 1]);
    expect(good.router.apgr).toBeCloseTo(0.75, 12);
    const bad = evaluatePair(rows, [1, 0, 1, 0], [4, 3, 2, 1]);
    expect(bad.router.apgr).toBeCloseTo(0.25, 12);
    // Prompt length 4,3,2,1: (0,.5) (.25,.5) (.5,.75) (.75,.75) (1,1) -> AUC .6875 -> APGR .375
    expect(good.promptLength.apgr).toBeCloseTo(0.375, 12);
  });

  it("treats tied scores as a random order (linear within the tie)", () => {
    const c = routerCurve(rows, [1, 1, 0, 0]);
    expect(c.map((p) => p.share)).toEqual([0, 0.5, 1]);
    expect(apgr(c, 0.5, 1)).toBeCloseTo(0.5, 12);
  });

  it("returns null metrics when the strong model is not better", () => {
    const flat: PairRow[] = [{ strong: 1, weak: 1, strongCost: null, weakCost: null }];
    const r = evaluatePair(flat, [0], [1]);
    expect(r.router.apgr).toBeNull();
    expect(r.router.savingAt95).toBeNull();
  });
});

describe("multi-model mode", () => {
  it("routes easy rows to the cheap model and reports best single and oracle", () => {
    const multi = [
      { scores: [1, 1], costs: [1, 10] },
      { scores: [0, 1], costs: [1, 10] },
    ];
    const r = evaluateMulti(["cheap", "big"], multi, [0.1, 0.9]);
    expect(r.bestSingle.model).toBe("big");
    expect(r.ladder).toEqual(["cheap", "big"]);
    expect(r.oracle).toEqual({ quality: 1, cost: 5.5 });
    expect(r.routerAt95?.quality).toBe(1);
    expect(r.routerAt95?.cost).toBe(5.5);
    expect(percentileRanks([3, 1, 2, 2])).toEqual([0.75, 0, 0.375, 0.375]);
  });
});

describe("svg", () => {
  it("draws one polyline per series and escapes labels", () => {
    const svg = costQualitySvg("t <1>", "x", [
      {
        label: "a&b",
        points: [
          { x: 0, y: 0 },
          { x: 1, y: 1 },
        ],
      },
      { label: "c", points: [{ x: 0, y: 1 }] },
    ]);
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<polyline/g)?.length).toBe(2);
    expect(svg).toContain("a&amp;b");
  });
});
