import { describe, expect, it } from "vitest";
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import type { Classification } from "../classify/types.js";
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
