import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { rng } from "../../router/prng.js";
import { runReplay } from "../commands/replay.js";
import { parseAccessLog } from "./access-log.js";
import { estimatePolicy, horvitzThompson, type LoggedDecision } from "./ipw.js";

/**
 * A synthetic world with a known answer: two kinds of request (half each). Kind A: cheap costs 1 and scores 0.9
 * on average, strong costs 10 and scores 1. Kind B: cheap costs 2 and scores 0.4, strong costs 12 and scores 1.
 * The logging policy serves cheap with probability 0.7 on A and 0.3 on B; the new policy serves cheap on A and
 * strong on B. Truth: cost (1 + 12) / 2 = 6.5, retention (0.9 + 1) / (1 + 1) = 0.95.
 */
const TRUE_COST = 6.5;
const TRUE_RETENTION = 0.95;

function world(seed: number, n: number): LoggedDecision[] {
  const u = rng(seed);
  const out: LoggedDecision[] = [];
  for (let i = 0; i < n; i++) {
    const a = u() < 0.5;
    const pCheap = a ? 0.7 : 0.3;
    const cheap = u() < pCheap;
    const newCheap = a;
    const pCorrectCheap = a ? 0.9 : 0.4;
    const routed = cheap ? (u() < pCorrectCheap ? 1 : 0) : 1;
    out.push({
      match: cheap === newCheap,
      propensity: cheap ? pCheap : 1 - pCheap,
      costUsd: cheap ? (a ? 1 : 2) : a ? 10 : 12,
      baselineCostUsd: a ? 10 : 12,
      judged: { routed, baseline: 1 },
      feedback: null,
    });
  }
  return out;
}

describe("inverse propensity weighting", () => {
  it("is unbiased across seeds (Horvitz-Thompson) and nearly so self-normalised", () => {
    const seeds = Array.from({ length: 300 }, (_, i) => i + 1);
    const ht = seeds.map((s) => horvitzThompson(world(s, 400), (d) => d.costUsd) ?? 0);
    const sn = seeds.map((s) => estimatePolicy(world(s, 400)).cost?.value ?? 0);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    // Standard error of the mean over 300 seeds is about 0.03 here; allow 4 of them.
    expect(Math.abs(mean(ht) - TRUE_COST)).toBeLessThan(0.12);
    expect(Math.abs(mean(sn) - TRUE_COST)).toBeLessThan(0.12);
  });

  it("covers the truth with its 95% intervals about 95% of the time", () => {
    let costHits = 0;
    let retentionHits = 0;
    const runs = 300;
    for (let s = 1; s <= runs; s++) {
      const r = estimatePolicy(world(1000 + s, 400));
      if (r.cost && r.cost.low <= TRUE_COST && TRUE_COST <= r.cost.high) costHits++;
      if (r.retention && r.retention.low <= TRUE_RETENTION && TRUE_RETENTION <= r.retention.high) retentionHits++;
    }
    expect(costHits / runs).toBeGreaterThan(0.9);
    expect(costHits / runs).toBeLessThan(0.99);
    expect(retentionHits / runs).toBeGreaterThan(0.9);
    expect(retentionHits / runs).toBeLessThan(0.99);
  });

  it("gives weight 0 to requests the new policy would send elsewhere", () => {
    const rows = world(5, 200).map((d) => ({ ...d, match: false }));
    const r = estimatePolicy(rows);
    expect([r.matched, r.cost, r.retention, r.effectiveSampleSize]).toEqual([0, null, null, 0]);
  });

  it("recovers the logged policy's own numbers when the new policy is the logged one", () => {
    const rows = world(9, 200).map((d) => ({ ...d, match: true, propensity: 1 }));
    const r = estimatePolicy(rows);
    expect(r.cost?.value).toBeCloseTo(r.logged.costUsd, 12);
    expect(r.retention?.value).toBeCloseTo(r.logged.retention ?? 0, 12);
    expect(r.effectiveSampleSize).toBeCloseTo(200, 9);
  });
});

describe("routewise replay", () => {
  const dir = join(import.meta.dirname, "..", "..", "test", "fixtures", "simulate");

  it("estimates an always-cheap policy from a log of half cheap, half strong decisions", () => {
    let out = "";
    const [r] = runReplay(
      {
        log: join(dir, "access.jsonl"),
        config: [join(dir, "policy.yaml")],
        namespace: "default",
        seed: 1,
        json: true,
      },
      (s) => (out += s),
    );
    expect(JSON.parse(out)).toHaveLength(1);
    expect(r?.route).toBe("always-cheap");
    expect([r?.n, r?.matched]).toEqual([8, 4]);
    expect(r?.cost?.value).toBeCloseTo(0.001, 12);
    expect(r?.savings?.value).toBeCloseTo(0.9, 12);
    expect(r?.retention?.value).toBeCloseTo(32 / 36, 12);
  });

  it("skips other log lines and names file:line of a served line without a propensity", () => {
    const served = { msg: "Served chat completion", route: "r", provider: "p", costUsd: 1, promptTokens: 1 };
    const text = `{"msg":"Started router"}\n${JSON.stringify(served)}\n`;
    expect(() => parseAccessLog(text, "access.jsonl")).toThrow(
      'access.jsonl:2: field "propensity" must be a number in [0, 1]',
    );
    expect(() => parseAccessLog(JSON.stringify({ ...served, propensity: 0 }), "a")).toThrow(/must be above 0/);
  });
});
