import { describe, expect, it } from "vitest";
import { providerConfig, routeConfig } from "../../test/mocks/provider-config.js";
import { contentHash } from "../config/hash.js";
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import { policyChoice, type CandidateOption } from "./controller.js";
import { evidenceOf, NO_EVIDENCE, type LearningLabel } from "./evidence.js";
import { learnRoute, MIN_CONTROLLER_LABELS } from "./route-learning.js";
import { declaredRetention } from "./segment.js";

const cheap = providerConfig({ id: "p/cheap", model: "cheap-1", quality: { score: 70, domains: {} } });
const cheapToo = providerConfig({ id: "q/cheap", model: "cheap-1", quality: { score: 72, domains: {} } });
const strong = providerConfig({ id: "p/strong", model: "strong-1", quality: { score: 90, domains: {} } });
const providers = new Map<string, ProviderConfig>([cheap, cheapToo, strong].map((p) => [p.id, p]));

const route: RouteConfig = routeConfig({
  candidates: [cheap, cheapToo, strong].map((p) => ({ provider: p.id })) as RouteConfig["candidates"],
  baseline: strong.id,
  evaluation: { judge: strong.id, sampleRate: 1, maxCostPerHourUSD: null },
  learning: { tags: [], exploration: 0.2, window: 1000 },
});

/** An easy request (the cheap model predicted to keep 0.97) and a hard one (0.9). */
const easy: CandidateOption[] = [
  { provider: cheap.id, predicted: 0.97, cost: 0.1 },
  { provider: strong.id, predicted: 1, cost: 1 },
];
const hard: CandidateOption[] = [
  { provider: cheap.id, predicted: 0.9, cost: 0.1 },
  { provider: strong.id, predicted: 1, cost: 1 },
];

/**
 * n labels of a route running 0.95 with exploration 0.2 over two candidates: 4 in 5 easy requests answered by the
 * cheap model (judged 9–10 against the baseline's 9.2–9.7, retention ≈ 0.98), the hard fifth by the baseline
 * (10/10) except one in ten of those, explored to the cheap model (propensity 0.1), which does badly (6 vs 10).
 */
function cheapLabels(n: number, segment = "-|qa|d1"): LearningLabel[] {
  return Array.from({ length: n }, (_, i): LearningLabel => {
    const isHard = i % 5 === 4;
    const explored = i % 50 === 49;
    const options = isHard ? hard : easy;
    const provider = explored ? cheap.id : policyChoice(options, 0.95)!.provider;
    const judgedEqual = provider === strong.id;
    return {
      segment,
      model: provider === cheap.id ? "cheap-1" : "strong-1",
      provider,
      baselineProvider: strong.id,
      routed: judgedEqual ? 10 : explored ? 6 : 9 + (i % 3) * 0.5,
      baseline: judgedEqual || explored ? 10 : 9.2 + (i % 2) * 0.5,
      propensity: explored ? 0.1 : 0.9,
      options,
      baselineCost: 1,
      agreement: judgedEqual ? null : { ordered: true, disagreement: i % 20 === 0 ? 1 : 0 },
    };
  });
}

describe("learnRoute", () => {
  it("gives every non-baseline candidate serving a cell's model its own entry, shrunk toward its own prior", () => {
    const out = learnRoute(route, providers, evidenceOf(cheapLabels(5)))!;
    // The baseline's own samples make no entry.
    expect(out.learned.entries.map((e) => [e.segment, e.provider, e.samples])).toEqual([
      ["-|qa|d1", "p/cheap", 4],
      ["-|qa|d1", "q/cheap", 4],
    ]);
    const [a, b] = out.learned.entries;
    // Five samples against 20 pseudo-samples: each estimate sits nearer its own declared prediction.
    const priorA = declaredRetention(cheap, strong, 1);
    const priorB = declaredRetention(cheapToo, strong, 1);
    expect(priorB).toBeGreaterThan(priorA);
    expect(b!.estimate).toBeGreaterThan(a!.estimate);
    expect(out.summary).toMatchObject({ labels: 5, segments: 1, entries: 2 });
  });

  it("leaves the threshold to the objective below MIN_CONTROLLER_LABELS labels", () => {
    const out = learnRoute(route, providers, evidenceOf(cheapLabels(MIN_CONTROLLER_LABELS - 1)))!;
    expect(out.learned.threshold).toBeNull();
    expect(out.summary.points.map((p) => p.objective)).toEqual([0.95, 0.94, 0.9299999999999999]);
  });

  it("sets the controller's threshold once the window holds enough labels that clear the objective", () => {
    const out = learnRoute(route, providers, evidenceOf(cheapLabels(400)))!;
    // 0.90 would send the hard fifth to the cheap model, which the explored labels show fails; 0.91–0.97 save alike
    // and ties go to the higher threshold.
    expect(out.learned.threshold).toBe(0.97);
    expect(out.learned.threshold).toBe(out.summary.points[0]!.threshold);
    expect(out.summary.points[0]!.met).toBe(true);
    // At 0.95 the easy 4 in 5 go to the cheap model: 1 − (0.8·0.1 + 0.2·1) / 1.
    expect(out.summary.points[0]!.savings).toBeCloseTo(0.72, 6);
  });

  it("estimates the judge's flip rate from its position disagreements and rounds it", () => {
    const out = learnRoute(route, providers, evidenceOf(cheapLabels(400)))!;
    // 20 of the 328 judged samples disagree (i % 20 === 0 are all easy ones): f = (1 − √(1 − 2d)) / 2.
    const d = 20 / 328;
    expect(out.learned.flipRate).toBe(Math.round(((1 - Math.sqrt(1 - 2 * d)) / 2) * 1e4) / 1e4);
  });

  it("uses a known flip rate instead of the estimate when given one, for the table and the controller", () => {
    const e = evidenceOf(cheapLabels(400));
    const known = learnRoute(route, providers, e, { flipRate: 0.15 })!;
    expect(known.learned.flipRate).toBe(0.15);
    const estimated = learnRoute(route, providers, e)!;
    // Unmixing more flips moves the cheap model's estimate further below the baseline.
    const cheapEntry = (l: typeof known) => l.learned.entries.find((x) => x.provider === cheap.id)!;
    expect(cheapEntry(known).estimate).toBeLessThan(cheapEntry(estimated).estimate);
  });

  it("writes the same table for the same evidence (the config hash stays)", () => {
    const e = evidenceOf(cheapLabels(200));
    const first = learnRoute(route, providers, e)!.learned;
    const again = learnRoute(route, providers, JSON.parse(JSON.stringify(e)) as typeof e)!.learned;
    expect(contentHash(again)).toBe(contentHash(first));
  });

  it("learns nothing without labels or without spec.learning", () => {
    expect(learnRoute(route, providers, NO_EVIDENCE)).toBeNull();
    expect(learnRoute({ ...route, learning: null }, providers, evidenceOf(cheapLabels(50)))).toBeNull();
  });
});
