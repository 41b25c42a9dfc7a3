import { describe, expect, it } from "vitest";
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import type { Classification } from "../classify/types.js";
import { rng } from "../prng.js";
import { predictQuality } from "./quality.js";
import { select } from "./select.js";
import type { HealthView, RequestFeatures, SelectInput } from "./types.js";

function provider(
  id: string,
  score: number,
  price: [number, number],
  extra: Partial<ProviderConfig> = {},
): ProviderConfig {
  return {
    id: `ns/${id}`,
    type: "simulated",
    baseURL: "",
    model: id,
    credentialKey: null,
    azure: null,
    pricing: { inputPerMillion: price[0], outputPerMillion: price[1], cachedInputPerMillion: price[0] },
    contextWindow: 8000,
    maxOutputTokens: 4000,
    capabilities: { tools: true, vision: false, jsonMode: true, streaming: true },
    quality: { score, domains: {} },
    limits: { maxConcurrency: 0, requestsPerMinute: 0, tokensPerMinute: 0 },
    timeouts: { requestMs: 1000, connectMs: 1000 },
    simulated: null,
    headers: {},
    ...extra,
  };
}

const small = provider("small", 68, [0.07, 0.07]);
const mid = provider("mid", 82, [0.15, 0.6], { contextWindow: 128000 });
const big = provider("big", 88, [5, 15], {
  contextWindow: 128000,
  capabilities: { tools: true, vision: true, jsonMode: true, streaming: true },
});
const providers = new Map([small, mid, big].map((p) => [p.id, p]));

function route(extra: Partial<RouteConfig> = {}): RouteConfig {
  return {
    name: "r",
    source: { namespace: "ns", name: "r" },
    candidates: [big, mid, small].map((p) => ({ provider: p.id, weight: 1 })),
    baseline: big.id,
    objective: { minQualityRetention: 0.95, maxCostPerRequestUSD: null, minConfidence: 0.5 },
    rules: [],
    retry: { attempts: 1, backoffBaseMs: 1, backoffMaxMs: 1, retryOn: [] },
    fallback: { enabled: true, maxProviders: 3 },
    timeouts: { requestMs: 1000, attemptMs: 1000 },
    circuitBreaker: { consecutiveFailures: 5, cooldownMs: 1000 },
    midStreamFailure: "error-event",
    classifier: { type: "builtin" },
    rollout: "enforce",
    exposeProviderModels: false,
    ...extra,
  };
}

const healthy: HealthView = { isOpen: () => false, isSaturated: () => false, inflight: () => 0 };

function request(extra: Partial<RequestFeatures> = {}): RequestFeatures {
  return {
    promptTokens: 100,
    maxOutputTokens: null,
    needsTools: false,
    needsVision: false,
    needsJson: false,
    stream: false,
    header: () => undefined,
    metadata: {},
    ...extra,
  };
}

function cls(difficulty: number, extra: Partial<Classification> = {}): Classification {
  return { task: "qa", domain: "general", difficulty, confidence: 0.9, source: "test", ...extra };
}

function run(extra: Partial<SelectInput> = {}) {
  return select({
    route: route(),
    providers,
    classification: cls(0.2),
    request: request(),
    health: healthy,
    random: () => 0.5,
    ...extra,
  });
}

function order(result: ReturnType<typeof select>): string[] {
  return result.ok ? result.order.map((p) => p.model) : [];
}

describe("select", () => {
  it("picks the cheapest candidate that keeps the retention bar for an easy prompt", () => {
    const r = run();
    expect(r.ok && r.reason).toBe("classifier");
    expect(order(r)[0]).toBe("mid");
  });

  it("picks the strongest candidate for a hard prompt when nothing cheaper meets the bar", () => {
    const r = run({ classification: cls(0.9) });
    expect(order(r)).toEqual(["big", "mid", "small"]);
  });

  it("orders eligible candidates cheapest first, then the rest strongest first", () => {
    const r = run({
      route: route({ objective: { minQualityRetention: 0.5, maxCostPerRequestUSD: null, minConfidence: 0 } }),
    });
    expect(order(r)).toEqual(["small", "mid", "big"]);
  });

  it("treats an unsure classification as harder", () => {
    const sure = run({ classification: cls(0.25, { confidence: 0.9 }) });
    const unsure = run({ classification: cls(0.25, { confidence: 0.1 }) });
    expect(order(sure)[0]).not.toBe("big");
    expect(order(unsure)[0]).toBe("big");
  });

  it("applies the first matching rule's pin in order", () => {
    const rules = [
      {
        name: "code",
        match: {
          tasks: ["code" as const],
          domains: [],
          difficulty: { min: null, max: null },
          promptTokens: { min: null, max: null },
          headers: [],
          metadata: {},
        },
        pin: [small.id, big.id],
        exclude: [],
      },
    ];
    expect(order(run({ route: route({ rules }), classification: cls(0.9, { task: "code" }) }))).toEqual([
      "small",
      "big",
    ]);
    expect(order(run({ route: route({ rules }) }))[0]).toBe("mid");
  });

  it("matches header rules exactly or by regular expression", () => {
    const base = {
      tasks: [],
      domains: [],
      difficulty: { min: null, max: null },
      promptTokens: { min: null, max: null },
      metadata: {},
    };
    const rules = [
      {
        name: "vip",
        match: { ...base, headers: [{ name: "x-tier", type: "RegularExpression" as const, value: "^(gold|vip)$" }] },
        pin: [big.id],
        exclude: [],
      },
    ];
    const vip = run({
      route: route({ rules }),
      request: request({ header: (n) => (n === "x-tier" ? "vip" : undefined) }),
    });
    expect(vip.ok && vip.reason).toBe("rule:vip");
    expect(order(run({ route: route({ rules }), request: request({ header: () => "bronze" }) }))[0]).toBe("mid");
  });

  it("removes excluded providers before the objective", () => {
    const rules = [
      {
        name: "no-mid",
        match: {
          tasks: [],
          domains: [],
          difficulty: { min: null, max: null },
          promptTokens: { min: null, max: null },
          headers: [],
          metadata: {},
        },
        pin: [],
        exclude: [mid.id],
      },
    ];
    expect(order(run({ route: route({ rules }) }))).not.toContain("mid");
  });

  it("filters on required capabilities and context window", () => {
    expect(order(run({ request: request({ needsVision: true }) }))).toEqual(["big"]);
    expect(order(run({ request: request({ promptTokens: 20000 }) }))).not.toContain("small");
  });

  it("explains a request too long for every candidate as context_length_exceeded", () => {
    const r = run({ request: request({ promptTokens: 500000 }) });
    expect(r.ok ? null : r.code).toBe("context_length_exceeded");
  });

  it("skips candidates above the cost cap", () => {
    const r = run({
      route: route({ objective: { minQualityRetention: 0.5, maxCostPerRequestUSD: 0.00005, minConfidence: 0 } }),
    });
    expect(order(r)[0]).toBe("small");
  });

  it("sends to the baseline in shadow mode and reports what it would have chosen", () => {
    const r = run({ route: route({ rollout: "shadow" }) });
    expect(r.ok && r.reason).toBe("shadow");
    expect(r.ok && r.decided.model).toBe("mid");
    expect(order(r)[0]).toBe("big");
    expect(r.ok && r.arm).toBe("baseline");
  });

  it("sends canary's baseline arm to the baseline and says which arm in the explanation", () => {
    const r = run({ route: route({ rollout: "canary", canaryPercent: 10 }), rolloutArm: "baseline" });
    expect(r.ok && [r.arm, r.reason, order(r)[0], r.decided.model]).toEqual([
      "baseline",
      "canary_baseline",
      "big",
      "mid",
    ]);
    expect(r.ok && r.explanation).toMatch(/^canary\(arm=baseline; would=ns\/mid\); /);
  });

  it("lets the policy decide canary's policy arm", () => {
    const r = run({ route: route({ rollout: "canary", canaryPercent: 10 }), rolloutArm: "policy" });
    expect(r.ok && [r.arm, r.reason, order(r)[0]]).toEqual(["policy", "classifier", "mid"]);
    expect(r.ok && r.explanation).toMatch(/^canary\(arm=policy\); /);
  });

  it("puts open circuits last and drops saturated providers", () => {
    const health: HealthView = {
      isOpen: (id) => id === mid.id,
      isSaturated: (id) => id === small.id,
      inflight: () => 0,
    };
    expect(order(run({ health }))).toEqual(["big", "mid"]);
  });

  it("answers 429 when every candidate is saturated", () => {
    const r = run({ health: { isOpen: () => false, isSaturated: () => true, inflight: () => 0 } });
    expect(r.ok ? null : r.status).toBe(429);
  });

  it("balances equivalent providers by in-flight requests", () => {
    const a = provider("same", 82, [0.15, 0.6], { id: "ns/a" });
    const b = provider("same", 82, [0.15, 0.6], { id: "ns/b" });
    const map = new Map([a, b, big].map((p) => [p.id, p]));
    const rt = route({ candidates: [a, b, big].map((p) => ({ provider: p.id, weight: 1 })) });
    const health: HealthView = {
      isOpen: () => false,
      isSaturated: () => false,
      inflight: (id) => (id === a.id ? 5 : 0),
    };
    const r = select({
      route: rt,
      providers: map,
      classification: cls(0.05),
      request: request(),
      health,
      random: () => 0.5,
    });
    expect(r.ok && r.order[0]?.id).toBe("ns/b");
  });
});

describe("predictQuality", () => {
  it("separates strong and weak models more on hard prompts", () => {
    const gapEasy = predictQuality(88, 0) - predictQuality(68, 0);
    const gapHard = predictQuality(88, 0.8) - predictQuality(68, 0.8);
    expect(gapHard).toBeGreaterThan(gapEasy);
  });
});

describe("select with a learned table", () => {
  const segment = "-|qa|d0";
  function learnedRoute(
    entries: { provider: string; lower: number; samples?: number }[],
    threshold: number | null = null,
  ) {
    return route({
      learned: {
        entries: entries.map((e) => ({
          segment,
          provider: e.provider,
          estimate: e.lower + 0.01,
          lower: e.lower,
          samples: e.samples ?? 500,
        })),
        threshold,
        flipRate: 0,
        labels: 1000,
      },
    });
  }

  it("picks a candidate whose learned lower bound in the segment meets the objective", () => {
    const r = run({ route: learnedRoute([{ provider: small.id, lower: 0.96 }]), segment });
    expect(order(r)[0]).toBe("small");
    expect(r.ok && r.explanation).toContain(`segment=${segment}; learned(lower=0.960, n=500)`);
  });

  it("drops a candidate whose learned lower bound misses the objective though its declared score keeps it", () => {
    const r = run({ route: learnedRoute([{ provider: mid.id, lower: 0.9 }]), segment });
    expect(order(r)[0]).toBe("big");
  });

  it("falls back to the declared prediction where the segment has no entry", () => {
    const r = run({ route: learnedRoute([{ provider: small.id, lower: 0.99 }]), segment: "-|code|d3" });
    expect(order(r)[0]).toBe("mid");
  });

  it("uses the SLO controller's threshold for the declared prediction", () => {
    const r = run({ route: learnedRoute([], 0.5), segment });
    expect(order(r)[0]).toBe("small");
  });

  it("never lets an entry for the baseline make it ineligible", () => {
    const r = run({
      route: learnedRoute([
        { provider: big.id, lower: 0.5 },
        { provider: mid.id, lower: 0.5 },
      ]),
      segment,
    });
    expect(order(r)[0]).toBe("big");
  });
});

describe("select with exploration", () => {
  const exploring = route({ learning: { tags: [], exploration: 0.1, window: 1000 } });

  it("keeps the policy's choice above the exploration share, with its propensity", () => {
    const r = run({ route: exploring, exploration: { u: 0.5, pick: 0.99 } });
    expect(order(r)[0]).toBe("mid");
    expect(r.ok && r.propensity).toBeCloseTo(0.9 + 0.1 / 3, 12);
    expect(r.ok && r.explanation).toMatch(/; p=0\.9333$/);
  });

  it("sends an exploring request to a random feasible candidate, the policy's order behind it", () => {
    const r = run({ route: exploring, exploration: { u: 0.05, pick: 0.99 } });
    expect(order(r)).toEqual(["small", "mid", "big"]);
    expect(r.ok && r.explored).toBe(true);
    expect(r.ok && r.decided.model).toBe("small");
    expect(r.ok && r.propensity).toBeCloseTo(0.1 / 3, 12);
    expect(r.ok && r.explanation).toMatch(/^explore; .*; p=0\.0333$/);
  });

  it("counts an exploring draw that lands on the policy's choice as the policy's", () => {
    const r = run({ route: exploring, exploration: { u: 0.05, pick: 0 } });
    expect(r.ok && r.explored).toBe(false);
    expect(r.ok && r.propensity).toBeCloseTo(0.9 + 0.1 / 3, 12);
  });

  it("never explores a rule's pin", () => {
    const rules = [
      {
        name: "pin",
        match: {
          tasks: [],
          domains: [],
          difficulty: { min: null, max: null },
          promptTokens: { min: null, max: null },
          headers: [],
          metadata: {},
        },
        pin: [big.id],
        exclude: [],
      },
    ];
    const r = run({ route: { ...exploring, rules }, exploration: { u: 0, pick: 0.99 } });
    expect(order(r)[0]).toBe("big");
    expect(r.ok && r.propensity).toBe(1);
  });

  it("reports propensity 1 without exploration", () => {
    const r = run();
    expect(r.ok && r.propensity).toBe(1);
    expect(r.ok && r.explanation).toMatch(/; p=1$/);
  });

  it("explores the configured share and logs propensities whose inverse weights average 1 per candidate", () => {
    const random = rng(42);
    const n = 30_000;
    const weight = new Map<string, number>();
    let explored = 0;
    for (let i = 0; i < n; i++) {
      const r = run({ route: exploring, exploration: { u: random(), pick: random() } });
      if (!r.ok) throw new Error("no selection");
      if (r.explored) explored++;
      weight.set(r.decided.model, (weight.get(r.decided.model) ?? 0) + 1 / r.propensity);
    }
    // Two of three exploring draws leave the policy's choice: 0.1 · 2/3.
    expect(explored / n).toBeCloseTo(0.0667, 2);
    for (const m of ["small", "mid", "big"]) expect(weight.get(m)! / n).toBeCloseTo(1, 1);
  });
});

describe("select with a budget (issue 17)", () => {
  it("ranks against the objective minus 0.05 past a budget's degradeAt, cheapest first", () => {
    // At difficulty 0.2, small keeps 0.914 of big's quality: under the 0.95 bar, over the relaxed 0.90.
    expect(order(run())[0]).toBe("mid");
    const r = run({ budget: "relaxed" });
    expect(order(r)[0]).toBe("small");
    expect(r.ok && r.reason).toBe("classifier");
    expect(r.ok && r.explanation).toContain("budget=relaxed(-0.05)");
  });

  it("keeps the strongest-available order when nothing meets even the relaxed objective", () => {
    expect(order(run({ budget: "relaxed", classification: cls(0.9) }))).toEqual(["big", "mid", "small"]);
  });

  it("sends a spent degrading budget's request to the cheapest capable candidate, whatever the difficulty", () => {
    const r = run({ budget: "cheapest", classification: cls(0.9) });
    expect(order(r)).toEqual(["small", "mid", "big"]);
    expect(r.ok && r.reason).toBe("budget_exhausted");
  });

  it("overrides a rule's pin and a shadow rollout once a degrading budget is spent, but not the capabilities", () => {
    const bigOnly = {
      name: "big-only",
      match: {
        tasks: [],
        domains: [],
        difficulty: { min: null, max: null },
        promptTokens: { min: null, max: null },
        headers: [],
        metadata: {},
      },
      pin: [big.id],
      exclude: [],
    };
    const shadowed = route({ rollout: "shadow", rules: [bigOnly] });
    const r = run({ route: shadowed, budget: "cheapest", request: request({ needsVision: true }) });
    expect(r.ok && [r.arm, r.order[0]?.model]).toEqual(["policy", "big"]);
    expect(order(run({ route: shadowed, budget: "cheapest" }))[0]).toBe("small");
  });

  it("never explores while a budget is past its degradeAt", () => {
    const learning = { tags: [], exploration: 0.5, window: 100 };
    const r = run({ route: route({ learning }), budget: "relaxed", exploration: { u: 0, pick: 0.99 } });
    expect(r.ok && [r.explored, r.propensity]).toEqual([false, 1]);
  });
});
