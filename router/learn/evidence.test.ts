import { describe, expect, it } from "vitest";
import { SyntheticStream } from "../../test/mocks/judge-synthetic.js";
import { controlFromSums, controlThreshold, policyChoice, type CandidateOption } from "./controller.js";
import {
  evidenceOf,
  THRESHOLD_GRID,
  thresholdContributions,
  thresholdKey,
  thresholdSums,
  type LearningLabel,
  type RouteEvidence,
} from "./evidence.js";

const EXPLORATION = 0.2;

function options(d: number): CandidateOption[] {
  return [
    { provider: "p/cheap", predicted: 1 - 0.25 * d, cost: 0.05 },
    { provider: "p/mid", predicted: 1 - 0.1 * d, cost: 0.3 },
    { provider: "p/strong", predicted: 1, cost: 1 },
  ];
}

const MODELS: Record<string, string> = { "p/cheap": "cheap-1", "p/mid": "mid-1", "p/strong": "strong-1" };

/** Judged requests of a route running threshold 0.95 with exploration; the truth as in controller.test.ts. */
function labels(seed: number, n: number): LearningLabel[] {
  const stream = new SyntheticStream(seed, { flipRate: 0.1, gradeSd: 0.5 });
  return Array.from({ length: n }, (_, i) => {
    const d = stream.random();
    const opts = options(d);
    const policy = policyChoice(opts, 0.95)!;
    const chosen = stream.random() < EXPLORATION ? opts[Math.floor(stream.random() * 3)]! : policy;
    const propensity = (chosen === policy ? 1 - EXPLORATION : 0) + EXPLORATION / 3;
    const rho = chosen.provider === "p/cheap" ? 1 - 0.15 * d : chosen.provider === "p/mid" ? 1 - 0.06 * d : 1;
    const s = stream.sample(rho);
    const disagreement = Math.sign(s.first.scoreA - s.first.scoreB) === Math.sign(s.second.scoreB - s.second.scoreA);
    return {
      segment: `-|qa|d${i % 4}`,
      model: MODELS[chosen.provider]!,
      provider: chosen.provider,
      baselineProvider: "p/strong",
      routed: s.routed,
      baseline: s.baseline,
      propensity,
      options: opts,
      baselineCost: 1,
      agreement: { ordered: true, disagreement: disagreement ? 0 : 1 },
    };
  });
}

/** Two replicas' evidence summed the way PromQL's sum() adds their series. */
function add(a: RouteEvidence, b: RouteEvidence): RouteEvidence {
  const sums = <T extends object>(x: T, y: T): T => {
    const other = y as Record<string, unknown>;
    const entries = Object.entries(x as Record<string, unknown>).map(([k, v]): [string, unknown] => [
      k,
      typeof v === "number" ? v + (other[k] as number) : v,
    ]);
    return Object.fromEntries(entries) as T;
  };
  const cells = new Map(a.cells.map((c) => [`${c.segment} ${c.model}`, c]));
  for (const c of b.cells) {
    const key = `${c.segment} ${c.model}`;
    const mine = cells.get(key);
    cells.set(key, mine ? sums(mine, c) : c);
  }
  return {
    labels: a.labels + b.labels,
    baselineCost: a.baselineCost + b.baselineCost,
    cells: [...cells.values()].sort((x, y) => (`${x.segment} ${x.model}` < `${y.segment} ${y.model}` ? -1 : 1)),
    thresholds: a.thresholds.map((t, i) => sums(t, b.thresholds[i]!)),
    judge: sums(a.judge, b.judge),
  };
}

describe("thresholdContributions", () => {
  it("weighs a label by 1/propensity exactly at the thresholds whose choice is the judged provider", () => {
    const opts = options(0.4); // cheap 0.90, mid 0.96, strong 1
    const contributions = thresholdContributions({
      provider: "p/mid",
      propensity: 0.5,
      options: opts,
      baselineProvider: "p/strong",
    });
    const matched = contributions.filter((c) => c.weight > 0).map((c) => thresholdKey(c.threshold));
    expect(matched[0]).toBe("0.91");
    expect(matched.at(-1)).toBe("0.96");
    expect(contributions.every((c) => c.weight === 0 || c.weight === 2)).toBe(true);
    // π_t's cost at every threshold, whoever was judged.
    expect(contributions.find((c) => c.threshold === 0.9)?.cost).toBe(0.05);
    expect(contributions.find((c) => c.threshold === 0.97)?.cost).toBe(1);
  });

  it("gives no weight when the policy did not choose the judged provider (propensity 0)", () => {
    const contributions = thresholdContributions({
      provider: "p/mid",
      propensity: 0,
      options: options(0.4),
      baselineProvider: "p/strong",
    });
    expect(contributions.every((c) => c.weight === 0)).toBe(true);
  });

  it("covers the fixed grid 0.70 … 1.00 in steps of 0.01", () => {
    expect(THRESHOLD_GRID).toHaveLength(31);
    expect(THRESHOLD_GRID.map(thresholdKey).slice(0, 2)).toEqual(["0.70", "0.71"]);
    expect(thresholdKey(THRESHOLD_GRID.at(-1)!)).toBe("1.00");
  });
});

describe("evidenceOf", () => {
  it("adds up across replicas: two halves of the labels sum to the evidence of all of them", () => {
    const all = labels(7, 600);
    const whole = evidenceOf(all);
    const summed = add(evidenceOf(all.slice(0, 250)), evidenceOf(all.slice(250)));
    expect(summed.labels).toBe(600);
    expect(summed.cells.map((c) => [c.segment, c.model, c.n])).toEqual(
      whole.cells.map((c) => [c.segment, c.model, c.n]),
    );
    summed.thresholds.forEach((t, i) => {
      expect(t.sumRouted).toBeCloseTo(whole.thresholds[i]!.sumRouted, 6);
      expect(t.sumProduct).toBeCloseTo(whole.thresholds[i]!.sumProduct, 6);
      expect(t.matched).toBe(whole.thresholds[i]!.matched);
    });
    expect(summed.judge).toEqual(whole.judge);
  });

  it("gives the controller on sums the result the controller gives on the labels themselves", () => {
    const all = labels(11, 3000);
    const fromSums = controlFromSums(thresholdSums(evidenceOf(all)), { objective: 0.95, flipRate: 0.1 });
    const logged = all.map((l) => ({ ...l }));
    const fromLabels = controlThreshold(
      { labels: logged, objective: 0.95, baseline: "p/strong", flipRate: 0.1 },
      { thresholds: THRESHOLD_GRID },
    );
    expect(fromSums.threshold).toBe(fromLabels.threshold);
    expect(fromSums.labels).toBe(3000);
    fromSums.points.forEach((p, i) => {
      expect(p.threshold).toBe(fromLabels.points[i]!.threshold);
      expect(p.savings).toBeCloseTo(fromLabels.points[i]!.savings, 9);
      expect(p.lower).toBeCloseTo(fromLabels.points[i]!.lower, 9);
    });
  });

  it("counts only ordered samples towards the judge's flip evidence", () => {
    const [a, b] = labels(3, 2) as [LearningLabel, LearningLabel];
    const e = evidenceOf([
      { ...a, agreement: { ordered: true, disagreement: 1 } },
      { ...b, agreement: { ordered: false, disagreement: 0 } },
      { ...b, agreement: null },
    ]);
    expect(e.judge).toEqual({ ordered: 1, disagreements: 1, feedbackPairs: 0, feedbackDisagreements: 0 });
  });
});
