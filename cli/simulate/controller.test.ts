import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Classification, Classifier } from "../../router/classify/types.js";
import type { LearningLabel } from "../../router/learn/evidence.js";
import { runSimulate, type SimulateOptions } from "../commands/simulate.js";
import { supportAt } from "./learned.js";
import type { SimReport } from "./report.js";

const POLICY = join(import.meta.dirname, "..", "..", "test", "fixtures", "simulate", "controller-policy.yaml");

/** Every row in one segment (-|chat|d2): the known answers below must not depend on the analyzer. */
const FIXED: Classifier = {
  name: "fixed",
  classify: (): Classification => ({
    task: "chat",
    domain: "general",
    difficulty: 0.5,
    confidence: 1,
    source: "fixed",
  }),
};

/**
 * The known truth: strong and mid always right; cheap wrong on every 100th row (retention 0.99) for the first
 * `before` rows, then on every 5th (0.8). Recorded costs 0.01 / 0.001 / 0.0001 (savings 0.9 and 0.99).
 */
function rows(before: number, after: number): string {
  return Array.from({ length: before + after }, (_, i) => {
    const wrong = i < before ? i % 100 === 0 : i % 5 === 0;
    return JSON.stringify({
      id: `controller/${i}`,
      prompt: `Question ${i}`,
      scores: { "strong-model": 1, "mid-model": 1, "cheap-model": wrong ? 0 : 1 },
      costs_usd: { "strong-model": 0.01, "mid-model": 0.001, "cheap-model": 0.0001 },
    });
  }).join("\n");
}

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "routewise-controller-"));
  writeFileSync(join(dir, "steady.jsonl"), rows(1200, 0));
  writeFileSync(join(dir, "drift.jsonl"), rows(1200, 1200));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(data: string, extra: Partial<SimulateOptions> = {}): Promise<{ report: SimReport; text: string }> {
  const opts: SimulateOptions = {
    data: join(dir, data),
    config: [POLICY],
    route: "learning",
    namespace: "default",
    map: [],
    judgeRate: 1,
    judgeNoise: 0,
    judgeCostUsd: null,
    seed: 1,
    window: 400,
    learnEvery: 100,
    json: false,
    ...extra,
  };
  let text = "";
  const report = await runSimulate(opts, { write: (s) => (text += s), classifier: FIXED });
  return { report, text };
}

describe("routewise simulate with the SLO controller", () => {
  it("lowers the threshold to the cheapest policy whose bound clears the objective, with its operating points", async () => {
    const { report, text } = await run("steady.jsonl");
    const c = report.controller!;
    expect(c).toMatchObject({ learnEvery: 100, window: 1000, flipRate: 0, runs: 12, changes: 2, threshold: 0.75 });
    // No table before the first label. The policy at the objective sends every row to the strong model, so only
    // exploration (0.3 over 3) judges the others: the controller moves once 59 of the labels a threshold sends
    // away were judged on its choice (minAwaySupport(0.95)) — the mid model's region (t ≤ 0.82) at 400 labels, the
    // cheap model's (t ≤ 0.75) at 500, where both clear 0.95. Without that rule it moved at 100 labels.
    expect(c.history).toEqual([
      { row: 0, labels: 0, threshold: null },
      { row: 400, labels: 400, threshold: 0.82 },
      { row: 500, labels: 500, threshold: 0.75 },
    ]);
    expect(c.labels).toBe(1000);
    expect(c.windowRows).toEqual({ start: 100, rows: 1100 });
    expect(c.points.map((p) => [p.met, p.threshold])).toEqual([
      [true, 0.75],
      [true, 0.75],
      [true, 0.75],
    ]);
    [0.95, 0.94, 0.93].forEach((o, i) => expect(c.points[i]!.objective).toBeCloseTo(o, 12));
    for (const p of c.points) {
      expect(p.savings).toBeCloseTo(0.99, 12);
      expect(p.lowerBound).toBeGreaterThanOrEqual(0.95);
      expect(p.retention).toBeGreaterThan(p.lowerBound!);
      // π_0.75 sends every label to the cheap model; those judged on it (explored, or served) carry the estimate.
      expect(p.support.away).toBe(1000);
      expect(p.support.matched).toBeGreaterThan(100);
      // Hindsight on rows 100–1199: the cheap model is wrong on 11 of them.
      expect(p.hindsight.retention).toBeCloseTo(1089 / 1100, 12);
      expect(p.hindsight.savings).toBeCloseTo(0.99, 12);
    }
    expect(text).toContain("threshold 0.75 at the end (objective 95.0%); 2 change(s) in 12 runs");
    expect(text).toContain("of which a point that sends any away needs 59 / 49 / 42");
    expect(text).toMatch(/95\.0% +0\.75 +99\.\d% +99\.\d% +99\.0% +\d+\/1000 +99\.0% +99\.0%/);
  });

  it("raises the threshold again when the cheap model drifts, and reports the window that dipped", async () => {
    const { report } = await run("drift.jsonl");
    const c = report.controller!;
    expect(c.history.map((h) => h.threshold)).toEqual([null, 0.82, 0.75, 0.82]);
    // The window slides past the drift at row 1200 before the cheap model's region fails.
    expect(c.history[3]!.row).toBeGreaterThan(1200);
    expect(c.threshold).toBe(0.82);
    for (const p of c.points) {
      expect(p).toMatchObject({ met: true, threshold: 0.82, retention: 1, lowerBound: 1 });
      expect(p.support.away).toBe(1000);
      expect(p.support.matched).toBeGreaterThan(100);
      expect(p.savings).toBeCloseTo(0.9, 12);
      expect(p.hindsight.retention).toBe(1);
      expect(p.hindsight.savings).toBeCloseTo(0.9, 12);
    }
    // Realized: the windows before the drift keep the objective, the first after it dips under, then it recovers.
    const retention = report.windows.list.map((w) => w.retention!);
    expect(retention.slice(0, 3).every((r) => r >= 0.95)).toBe(true);
    expect(retention[3]).toBeLessThan(0.95);
    expect(retention.slice(4).every((r) => r >= 0.95)).toBe(true);
    expect(report.windows.underObjective).toBe(1);
  });

  it("corrects the bounds for the judge noise it simulates", async () => {
    const { report } = await run("steady.jsonl", { judgeNoise: 0.1, judgeRate: 0.5 });
    expect(report.controller?.flipRate).toBe(0.1);
    // The last run (before row 1100) saw about half of the first 1100 rows' labels.
    expect(report.controller!.labels).toBeGreaterThan(450);
    expect(report.controller!.labels).toBeLessThan(report.judge.judged);
  });

  it("reports no controller for a route without learning", async () => {
    const { report } = await run("steady.jsonl", {
      config: [join(import.meta.dirname, "..", "..", "test", "fixtures", "simulate", "policy.yaml")],
      route: "always-strong",
    });
    expect(report.controller).toBeNull();
  });
});

describe("supportAt", () => {
  const label = (provider: string, propensity: number, cheapPredicted: number): LearningLabel => ({
    segment: "-|chat|d2",
    model: provider,
    provider,
    baselineProvider: "strong",
    routed: 10,
    baseline: 10,
    propensity,
    options: [
      { provider: "cheap", predicted: cheapPredicted, cost: 0.1 },
      { provider: "strong", predicted: 1, cost: 1 },
    ],
    baselineCost: 1,
    agreement: null,
  });

  it("counts the labels a threshold sends away from the baseline and those judged on its choice", () => {
    const labels = [
      label("strong", 0.95, 0.9),
      label("cheap", 0.05, 0.9),
      label("cheap", 0, 0.9),
      label("cheap", 1, 0.5),
    ];
    // At 0.8 the first three go to cheap; only the explored one was judged on cheap with a propensity.
    expect(supportAt(labels, 0.8, 0.95)).toEqual({ away: 3, matched: 1, required: 59 });
    expect(supportAt(labels, 0.95, 0.9)).toEqual({ away: 0, matched: 0, required: 29 });
  });
});
