import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Classification, Classifier } from "../../router/classify/types.js";
import { CliError } from "../errors.js";
import { parseSimulateOptions, runSimulate, type SimulateOptions } from "../commands/simulate.js";
import { STATIC_LEARNER, type JudgedLabel, type Learner } from "./learner.js";
import { promptLengthAt, randomAt, type SimReport } from "./report.js";
import { parseSimJsonl } from "./rows.js";
import type { RowOutcome } from "./engine.js";

const DIR = join(import.meta.dirname, "..", "..", "test", "fixtures", "simulate");
const ROWS = join(DIR, "rows.jsonl");
const POLICY = join(DIR, "policy.yaml");

/** A fixed classification: the known answers below must not depend on the analyzer. */
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

function options(route: string, extra: Partial<SimulateOptions> = {}): SimulateOptions {
  return {
    data: ROWS,
    config: [POLICY],
    route,
    namespace: "default",
    map: [],
    judgeRate: 0.05,
    judgeNoise: 0.15,
    judgeCostUsd: null,
    seed: 1,
    window: 50,
    learnEvery: 500,
    json: true,
    ...extra,
  };
}

async function run(route: string, extra: Partial<SimulateOptions> = {}, learner?: Learner): Promise<SimReport> {
  let out = "";
  const report = await runSimulate(options(route, extra), {
    write: (s) => (out += s),
    classifier: FIXED,
    ...(learner ? { learner } : {}),
  });
  expect(JSON.parse(out)).toEqual(JSON.parse(JSON.stringify(report)));
  return report;
}

describe("routewise simulate", () => {
  it("gives the cheap model's retention and savings exactly when the route always picks it", async () => {
    const r = await run("always-cheap");
    expect(r.rows).toBe(100);
    expect(r.realized.retention).toBeCloseTo(70 / 90, 12);
    expect(r.realized.savings).toBeCloseTo(0.9, 12);
    expect(r.share).toEqual({ "default/cheap": 1 });
    expect(r.compare.alwaysCheapest.provider).toBe("default/cheap");
    expect(r.windows.list.map((w) => w.retention)).toEqual([35 / 45, 35 / 45]);
    expect(r.windows.underObjective).toBe(0);
  });

  it("counts every window under the objective when the objective is above what is served", async () => {
    const r = await run("always-cheap", { window: 10 });
    expect(r.windows.counted).toBe(10);
    expect(r.windows.underObjective).toBe(0);
    const strong = await run("always-strong", { window: 10 });
    expect(strong.realized.retention).toBe(1);
    expect(strong.realized.savings).toBe(0);
    expect(strong.windows.shareUnder).toBe(0);
  });

  it("runs the cascade's verifiers on the recorded answers", async () => {
    const r = await run("cascade");
    // The cheap answer is served where it is right (70 rows); its refusals escalate to the strong model.
    expect(r.cascade).toEqual({ rows: 100, accepted: 70, escalatedAll: 30 });
    expect(r.realized.retention).toBe(1);
    expect(r.realized.costUsd).toBeCloseTo(100 * 0.001 + 30 * 0.01, 12);
    expect(r.compare.single.savings).toBe(0);
    expect(r.share).toEqual({ "default/cheap": 0.7, "default/strong": 0.3 });
  });

  it("charges the judge only for judged rows the baseline did not answer", async () => {
    const none = await run("always-cheap", { judgeRate: 0 });
    expect([none.judge.judged, none.judge.spendUsd]).toEqual([0, 0]);
    const all = await run("always-cheap", { judgeRate: 1, judgeCostUsd: 0.002 });
    expect(all.judge.judged).toBe(100);
    expect(all.judge.spendUsd).toBeCloseTo(100 * (0.01 + 0.002), 12);
    expect(all.realized.savingsNetOfJudge).toBeCloseTo(1 - (0.1 + 1.2) / 1, 12);
    const strong = await run("always-strong", { judgeRate: 1 });
    expect(strong.judge.spendUsd).toBe(0);
  });

  it("hands labels to the learner only for judged rows, after the row was decided", async () => {
    const labels: JudgedLabel[] = [];
    const decidedBefore: number[] = [];
    let decided = 0;
    const learner: Learner = {
      ...STATIC_LEARNER,
      name: "recording",
      choose: (c, s, random) => {
        decided++;
        return STATIC_LEARNER.choose(c, s, random);
      },
      learn: (l) => {
        labels.push(l);
        decidedBefore.push(decided);
      },
    };
    const r = await run("always-cheap", { judgeRate: 0.3, judgeNoise: 0 }, learner);
    expect(labels.length).toBe(r.judge.judged);
    expect(labels.length).toBeGreaterThan(10);
    expect(decidedBefore).toEqual(labels.map((l) => l.context.index + 1));
    // No noise: the labels are the rows' own scores.
    for (const l of labels) expect(l.servedScore).toBe(l.context.index % 10 < 7 ? 1 : 0);
  });

  it("flips judged labels with the judge noise", async () => {
    const labels: JudgedLabel[] = [];
    const learner: Learner = { ...STATIC_LEARNER, learn: (l) => labels.push(l) };
    await run("always-cheap", { judgeRate: 1, judgeNoise: 1 }, learner);
    for (const l of labels) expect(l.servedScore).toBe(l.context.index % 10 < 7 ? 0 : 1);
  });

  it("is deterministic for a seed", async () => {
    const a = await run("always-cheap", { judgeRate: 0.5, seed: 7 });
    const b = await run("always-cheap", { judgeRate: 0.5, seed: 7 });
    const c = await run("always-cheap", { judgeRate: 0.5, seed: 8 });
    expect(a).toEqual(b);
    expect(c.judge.judged).not.toBe(a.judge.judged);
  });

  it("maps row models to providers with --map", async () => {
    const r = await run("renamed", { map: ["cheap-model=renamed"] });
    expect(r.share).toEqual({ "default/renamed": 1 });
    expect(r.realized.retention).toBeCloseTo(70 / 90, 12);
    const byId = await run("renamed", { map: ["cheap-model=default/renamed"] });
    expect(byId.share).toEqual(r.share);
  });

  it("names both sides when a provider has no row model", async () => {
    await expect(run("renamed")).rejects.toThrow(
      /no row model for provider\(s\) default\/renamed \(model renamed-upstream\); the rows score strong-model, cheap-model; map them with --map/,
    );
  });

  it("refuses a --map to a provider the route does not have, or from a model no row scores", async () => {
    await expect(run("renamed", { map: ["cheap-model=nope"] })).rejects.toThrow(
      /--map cheap-model=nope: the route has no provider nope \(providers: default\/strong, default\/renamed\)/,
    );
    await expect(run("renamed", { map: ["gpt=renamed"] })).rejects.toThrow(/no row scores model gpt/);
    await expect(run("renamed", { map: ["renamed"] })).rejects.toThrow(/expected ROW_MODEL=PROVIDER/);
  });

  it("names the route when it is not in the config", async () => {
    await expect(run("nope")).rejects.toThrow(/no route nope in the config \(routes: always-cheap, always-strong/);
  });
});

describe("simulate rows", () => {
  it("names the file and line of a bad row", () => {
    const good = JSON.stringify({ id: "a", prompt: "p", scores: { m: 1 } });
    expect(() => parseSimJsonl(`${good}\n{oops\n`, "rows.jsonl")).toThrow("rows.jsonl:2: not valid JSON");
    expect(() => parseSimJsonl(`${good}\n\n{"id":"b","prompt":"p","scores":{"m":2}}`, "rows.jsonl")).toThrow(
      'rows.jsonl:3: field "scores.m" must be in [0,1] (got 2)',
    );
    expect(() => parseSimJsonl(`{"id":"b","prompt":3,"scores":{}}`, "r")).toThrow(
      'r:1: field "prompt" must be a string',
    );
    expect(() => parseSimJsonl(`{"id":"b","prompt":"p","scores":{"m":1},"responses":{"m":3}}`, "r")).toThrow(
      'r:1: field "responses.m" must be a string',
    );
    expect(() => parseSimJsonl("\n", "r")).toThrow(CliError);
  });

  it("reads responses when present", () => {
    const rows = parseSimJsonl(JSON.stringify({ id: 1, prompt: "p", scores: { m: 1 }, responses: { m: "x" } }), "r");
    expect(rows[0]?.responses).toEqual({ m: "x" });
  });
});

describe("simulate options", () => {
  const raw = {
    data: "d",
    config: ["c"],
    route: "r",
    namespace: "default",
    map: [],
    judgeRate: "0.05",
    judgeNoise: "0.15",
    seed: "1",
    window: "1000",
  };
  it("refuses rates outside [0,1] and non-integer seeds", () => {
    expect(() => parseSimulateOptions({ ...raw, judgeRate: "1.5" })).toThrow("--judge-rate must be a number in [0, 1]");
    expect(() => parseSimulateOptions({ ...raw, judgeNoise: "x" })).toThrow("--judge-noise must be a number");
    expect(() => parseSimulateOptions({ ...raw, seed: "1.5" })).toThrow("--seed must be an integer");
    expect(() => parseSimulateOptions({ ...raw, window: "0" })).toThrow("--window must be a number in [1,");
    expect(() => parseSimulateOptions({ ...raw, learnEvery: "0" })).toThrow("--learn-every must be a number in [1,");
    expect(parseSimulateOptions(raw)).toMatchObject({ judgeRate: 0.05, judgeNoise: 0.15, seed: 1, window: 1000 });
    expect(parseSimulateOptions(raw).learnEvery).toBe(100);
    expect(parseSimulateOptions({ ...raw, learnEvery: "50" }).learnEvery).toBe(50);
  });
});

describe("comparisons at the same retention", () => {
  const row = (promptTokens: number, cheap: number, base: number): RowOutcome => ({
    index: 0,
    promptTokens,
    served: "cheap",
    chosen: "cheap",
    single: { score: cheap, cost: 1 },
    realized: { score: cheap, cost: 1 },
    baseline: { score: base, cost: 10 },
    byProvider: { cheap: { score: cheap, cost: 1 }, base: { score: base, cost: 10 } },
    propensity: 1,
    judged: false,
    judgeCost: 0,
    cascade: null,
  });
  const rows = [row(100, 0, 1), row(10, 1, 1), row(50, 0, 1), row(5, 1, 1)];

  it("mixes the cheapest and the baseline to the target retention in expectation (random)", () => {
    const r = randomAt(rows, "cheap", 0.75);
    expect(r.baselineShare).toBeCloseTo(0.5, 12);
    expect(r.retention).toBeCloseTo(0.75, 12);
    expect(r.costUsd).toBeCloseTo(0.5 * 4 + 0.5 * 40, 12);
  });

  it("sends the fewest longest prompts to the baseline (prompt length)", () => {
    const r = promptLengthAt(rows, "cheap", 0.75);
    expect(r.baselineShare).toBe(0.25);
    expect(r.retention).toBe(0.75);
    expect(r.costUsd).toBe(10 + 3);
  });
});

describe("router/learn in the replay", () => {
  it("writes the table of the judged labels so far into the route before each run's rows", async () => {
    const { loadConfig, findRoute } = await import("../commands/simulate.js");
    const { routeLearner } = await import("./learned.js");
    const { simulate } = await import("./engine.js");
    const { readSimRows } = await import("./rows.js");
    const config = loadConfig([POLICY], "default");
    const route = { ...findRoute(config, "always-cheap"), learning: { tags: [], exploration: 0, window: 1000 } };
    const providers = new Map(config.providers.map((p) => [p.id, p]));
    const inner = routeLearner(route, { flipRate: 0, learnEvery: 1 });
    const seen: number[] = [];
    const learner: Learner = {
      ...inner,
      prepare: (c) => {
        const r = inner.prepare(c);
        seen.push(r.learned?.labels ?? -1);
        return r;
      },
    };
    const models = new Map([
      ["default/cheap", "cheap-model"],
      ["default/strong", "strong-model"],
    ]);
    const sim = { route, providers, classifier: FIXED, learner, models, seed: 1, judgeNoise: 0, judgeCostUsd: null };
    await simulate(readSimRows(ROWS), { ...sim, judgeRate: 1 });
    // Run before each row (--learn-every 1): no table before the first label, then one of every label so far.
    expect(seen.slice(0, 3)).toEqual([-1, 1, 2]);
    const last = inner.prepare({
      index: 100,
      classification: await FIXED.classify({ prompt: "", system: "", totalChars: 0 }),
      promptTokens: 1,
      route,
      providers,
    });
    const entry = last.learned?.entries[0];
    expect(entry).toMatchObject({ segment: "-|chat|d2", provider: "default/cheap", samples: 100 });
    // Cheap keeps (70·10 + 30·1) / (90·10 + 10·1) of the grades; the prior pulls the estimate toward the declared one.
    expect(entry?.lower).toBeLessThan(entry?.estimate ?? 0);
  });
});
