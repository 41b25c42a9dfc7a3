/**
 * Real Prometheus against a real router: the router runs in-process on mock upstreams, Debian's `prometheus`
 * scrapes it (and a stand-in operator) every second with routewise-rules.yaml loaded, and the assertions go
 * through Prometheus's HTTP API. A second router (route `budgeted`) keeps its limits and budgets in a real Redis,
 * with client keys, so the Budgets row and the state store's panels and rules see real series too.
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../router/config/package-root.js";
import type { RunningRouter } from "../../router/main.js";
import { startRedis, type RunningRedis } from "../harness/redis.js";
import { startTestRouter, type TestRouter } from "../router/harness.js";
import {
  clientKey,
  mockProvider,
  route as jsonRoute,
  routerConfig,
  startJsonRouter,
  type JsonRouter,
} from "../router/json-router.js";
import {
  DASHBOARD_PATH,
  dashboardQueries,
  readJson,
  readRules,
  readsMeasuredQuality,
  recordingRules,
  RULES_PATH,
  substituteVariables,
} from "./dashboard.js";
import { startPrometheus, type PromSample, type RunningPrometheus } from "./prometheus.js";
import { findTool, run } from "./tools.js";
import {
  initialiseSeries,
  mixedRound,
  policy,
  send,
  startFakeOperator,
  startUpstreams,
  type FakeOperator,
  type Served,
  type Upstreams,
} from "./traffic.js";

const NAMESPACE = "routewise-test";
const ROUNDS = 4;

let upstreams: Upstreams | undefined;
let t: TestRouter | undefined;
let operator: FakeOperator | undefined;
let prom: RunningPrometheus | undefined;
let redis: RunningRedis | undefined;
let budgeted: JsonRouter | undefined;
const served: Served[] = [];
let failed = 0;
const budgetStatuses: number[] = [];

const BUDGET_KEY = "rw-observability-SECRET-key";
const OBS_SALT = "0b5e0b5e0b5e0b5e0b5e0b5e0b5e0b5e";

/** The `budgeted` route's router: a client key with a budget it spends on its first answer, Redis as its store. */
async function startBudgetedRouter(u: Upstreams, redisUrl: string): Promise<JsonRouter> {
  const day = { period: "day" as const, degradeAt: 0.5 };
  const cheap = { ...mockProvider("cheap", u.cheap.url, 80, [1, 2]) };
  const limited = { ...cheap, limits: { maxConcurrency: 10, requestsPerMinute: 1_000, tokensPerMinute: 0 } };
  const routes = [
    jsonRoute("budgeted", ["default/cheap"], "default/cheap", {
      budget: { usd: 10, onExhausted: "degrade", ...day },
    }),
  ];
  const keys = {
    salt: OBS_SALT,
    keys: [
      clientKey(OBS_SALT, {
        name: "obs/tiny",
        key: BUDGET_KEY,
        team: "obs",
        budget: { usd: 0.00001, onExhausted: "reject", ...day },
      }),
    ],
    teams: [{ team: "obs", budget: { usd: 5, onExhausted: "reject" as const, ...day } }],
  };
  return startJsonRouter(
    routerConfig([limited], routes, keys),
    { "default.cheap": "sk-cheap" },
    {
      state: { redis: { url: redisUrl }, failurePolicy: "open" },
    },
  );
}

/** One answer (spending the key's budget), then refusals with 429 insufficient_quota. */
async function budgetedTraffic(r: JsonRouter): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${r.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${BUDGET_KEY}` },
      // max_tokens 1: the estimate fits the key's $0.00001, the answer (the mock ignores it) spends it.
      body: JSON.stringify({ model: "budgeted", max_tokens: 1, messages: [{ role: "user", content: `hello ${i}` }] }),
    });
    await res.text();
    statuses.push(res.status);
  }
  return statuses;
}

beforeAll(async () => {
  upstreams = await startUpstreams();
  t = await startTestRouter({ yaml: policy(upstreams) });
  initialiseSeries(t.router.metrics);
  redis = await startRedis();
  budgeted = await startBudgetedRouter(upstreams, redis.url);
  operator = await startFakeOperator();
  const p = await startPrometheus({
    targets: [
      { job: "routewise-router", address: new URL(t.metricsUrl).host, labels: { namespace: NAMESPACE } },
      {
        job: "routewise-router",
        address: new URL(budgeted.router.metricsUrl).host,
        labels: { namespace: NAMESPACE },
      },
      { job: "routewise-operator", address: operator.address, labels: { namespace: "routewise-system" } },
    ],
    ruleFiles: [join(packageRoot(), RULES_PATH)],
  });
  prom = p;
  // Traffic starts once Prometheus holds the zeroed series, so rate() sees every request.
  // Both routers: a router first scraped after its traffic gives rate() nothing to compare (its route drops out).
  await p.waitFor("the first scrape of both routers", async () => {
    const chat = await p.query('routewise_cost_usd_total{route="chat"}');
    const budgetedSeries = await p.query('routewise_cost_usd_total{route="budgeted"}');
    return chat.length === 2 && budgetedSeries.length > 0;
  });
  for (let i = 0; i < ROUNDS; i++) {
    const round = await mixedRound(t);
    served.push(...round.served);
    failed += round.failed;
    budgetStatuses.push(...(await budgetedTraffic(budgeted)));
    await sleep(1_100); // spread the traffic over several scrapes
  }
  const total = (await routerCounterSum(t.router, "requests")) + (await routerCounterSum(budgeted.router, "requests"));
  await p.waitFor(
    "a scrape after the traffic",
    async () => value(await p.query("sum(routewise_requests_total)")) === total,
  );
  await sleep(2_500); // rules are evaluated every second: let them see the last scrape
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await t?.stop();
  await budgeted?.stop();
  await redis?.stop();
  await operator?.close();
  if (upstreams)
    await Promise.all([upstreams.cheap, upstreams.strong, upstreams.broken, upstreams.dead].map((u) => u.close()));
});

function value(samples: PromSample[]): number {
  const v = samples[0]?.value[1];
  return v === undefined ? Number.NaN : Number(v);
}

function byRoute(samples: PromSample[]): Map<string, number> {
  return new Map(samples.map((s) => [s.metric["route"] ?? "", Number(s.value[1])]));
}

async function routerCounterSum(router: RunningRouter, name: "requests"): Promise<number> {
  const m = await router.metrics[name].get();
  return m.values.reduce((s, v) => s + v.value, 0);
}

/** Sums a per-route counter from the router's own registry. */
async function routerPerRoute(name: "qualityPoints" | "baselineQualityPoints"): Promise<Map<string, number>> {
  const m = await t!.router.metrics[name].get();
  return new Map(m.values.map((v) => [String(v.labels["route"]), v.value]));
}

function expectedSavings(route: string): { cost: number; baseline: number; ratio: number } {
  const mine = served.filter((s) => s.route === route);
  const cost = mine.reduce((s, r) => s + r.cost, 0);
  const baseline = mine.reduce((s, r) => s + r.baseline, 0);
  return { cost, baseline, ratio: 1 - cost / baseline };
}

/** The router's own series (default process metrics excluded), one entry per label set. */
async function routerSeries(): Promise<Set<string>> {
  const text = await (await fetch(`${t!.metricsUrl}/metrics`)).text();
  const series = text
    .split("\n")
    .filter((l) => /^(routewise_|gen_ai_)/.test(l) && !/^routewise_(process|nodejs)_/.test(l))
    .map((l) => l.slice(0, l.lastIndexOf(" ")));
  return new Set(series);
}

describe("observability: Prometheus scraping a router with mixed traffic", () => {
  it("drove traffic that was answered, fell back and failed", () => {
    expect(served.length).toBe(ROUNDS * 7);
    expect(failed).toBe(ROUNDS * 2);
    expect(new Set(served.map((s) => s.model))).toEqual(new Set(["cheap-model", "strong-model"]));
  });

  it("scrapes the routers and the operator", async () => {
    const up = await prom!.query("up");
    expect(up.map((s) => [s.metric["job"], s.value[1]]).sort()).toEqual([
      ["routewise-operator", "1"],
      ["routewise-router", "1"],
      ["routewise-router", "1"],
    ]);
  });

  // Measured-quality rules (ADR 10) read metrics this router does not export yet: measured-quality.test.ts checks
  // them against stand-in replicas.
  it("evaluates every rule without error, and every other than measured quality returns data", async () => {
    const health = await prom!.ruleHealth();
    expect(
      [...health.values()].every((h) => h === "ok"),
      JSON.stringify([...health]),
    ).toBe(true);
    for (const record of recordingRules(readRules()).filter((r) => !readsMeasuredQuality(r))) {
      expect(await prom!.query(record), record).not.toHaveLength(0);
    }
  });

  it("computes routewise:savings_ratio:rate5m per route as the cost headers imply", async () => {
    const rule = byRoute(await prom!.query(`routewise:savings_ratio:rate5m{namespace="${NAMESPACE}"}`));
    const cost = byRoute(await prom!.query("sum by (route) (routewise_cost_usd_total)"));
    const baseline = byRoute(await prom!.query("sum by (route) (routewise_baseline_cost_usd_total)"));
    for (const route of ["chat", "pinned", "fallback"]) {
      const expected = expectedSavings(route);
      expect(expected.ratio).toBeGreaterThan(0.1);
      expect(rule.get(route), route).toBeCloseTo(expected.ratio, 5);
      // Headers carry 8 decimals: allow their rounding on the totals.
      expect(Math.abs(cost.get(route)! - expected.cost), route).toBeLessThan(1e-7);
      expect(Math.abs(baseline.get(route)! - expected.baseline), route).toBeLessThan(1e-7);
    }
    expect(rule.has("down")).toBe(false); // no answered request, no baseline spend: no ratio rather than NaN
  });

  it("computes routewise:quality_retention:rate5m per route as the router's quality counters imply", async () => {
    const rule = byRoute(await prom!.query("routewise:quality_retention:rate5m"));
    const points = await routerPerRoute("qualityPoints");
    const baseline = await routerPerRoute("baselineQualityPoints");
    for (const route of ["chat", "pinned", "fallback"]) {
      const expected = points.get(route)! / baseline.get(route)!;
      expect(expected).toBeGreaterThan(0.4);
      expect(expected).toBeLessThan(1.01);
      expect(rule.get(route), route).toBeCloseTo(expected, 6);
    }
  });

  it("reads a sub-millisecond p50 routing latency per route", async () => {
    const p50 = byRoute(await prom!.query("routewise:routing_duration_seconds:p50_5m"));
    for (const route of ["chat", "pinned", "fallback", "down"]) {
      expect(p50.get(route), route).toBeGreaterThan(0);
      expect(p50.get(route), route).toBeLessThan(0.01);
    }
  });

  it("sees the failing route fail and the fallback route fall back, in rules and pending alerts", async () => {
    const errors = byRoute(await prom!.query("routewise:error_ratio:rate5m"));
    expect(Object.fromEntries(errors)).toEqual({ chat: 0, pinned: 0, fallback: 0, down: 1, budgeted: 0 });
    const alerts = (await prom!.alerts()).map((a) => `${a.labels["alertname"]}/${a.labels["route"]}/${a.state}`);
    expect(alerts).toContain("RoutewiseAllCandidatesFailing/down/pending");
    expect(alerts).toContain("RoutewiseFallbackRateHigh/fallback/pending");
    expect(alerts.filter((a) => /^Routewise(AllCandidatesFailing|FallbackRateHigh)\/(chat|pinned)\//.test(a))).toEqual(
      [],
    );
    expect(alerts.filter((a) => a.startsWith("RoutewiseOperator") || a.startsWith("RoutewiseConfig"))).toEqual([]);
  });

  it("sees a spent key budget, the spend by key and team, and the shared store up (issue 17)", async () => {
    expect(budgetStatuses.slice(0, 2)).toEqual([200, 429]);
    const ratio = await prom!.query('routewise:budget_spent:ratio{scope="key",name="obs/tiny"}');
    expect(value(ratio)).toBeGreaterThan(1);
    const alerts = (await prom!.alerts()).map((a) => `${a.labels["alertname"]}/${a.labels["name"]}`);
    expect(alerts).toContain("RoutewiseBudgetNearlySpent/obs/tiny");
    expect(alerts.filter((a) => a.startsWith("RoutewiseStateStoreUnreachable"))).toEqual([]);
    const rejected = await prom!.query('sum(routewise_budget_rejected_requests_total{name="obs/tiny"})');
    expect(value(rejected)).toBe(budgetStatuses.filter((s) => s === 429).length);
    const spend = await prom!.query('routewise_spend_usd_total{scope="team",name="obs"}');
    expect(value(spend)).toBeGreaterThan(0);
    expect(value(await prom!.query("min(routewise_state_up)"))).toBe(1);
  });

  it("returns data for every dashboard panel query but measured quality's", async () => {
    const variables = {
      __rate_interval: "1m",
      __interval: "15s",
      __range: "5m",
      namespace: NAMESPACE,
      route: "chat|pinned|fallback|down|budgeted",
      retention_target: "0.95",
    };
    const queries = dashboardQueries(readJson(DASHBOARD_PATH)).filter((q) => !readsMeasuredQuality(q.expr));
    expect(queries.length).toBeGreaterThanOrEqual(30);
    const empty: string[] = [];
    for (const q of queries) {
      const result = await prom!.query(substituteVariables(q.expr, variables));
      if (result.length === 0) empty.push(`${q.panel} (${q.refId}): ${q.expr}`);
    }
    expect(empty).toEqual([]);
  });

  it("exposes /metrics that promtool check metrics accepts", async () => {
    const text = await (await fetch(`${t!.metricsUrl}/metrics`)).text();
    const r = await run(findTool("promtool"), ["check", "metrics"], { stdin: text });
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it("adds no series for 1,000 requests with distinct users, prompts, metadata and request ids", async () => {
    const before = await routerSeries();
    expect(before.size).toBeGreaterThan(50);
    let ok = 0;
    const worker = async (offset: number): Promise<void> => {
      for (let i = offset; i < 1_000; i += 25) {
        const r = await send(t!, "pinned", `question ${i}: what is ${i} times ${i + 7}?`, {
          user: `user-${i}`,
          metadata: { customer: `customer-${i}`, session: `s-${i * 31}` },
          requestId: `req-${i}-${Date.now()}`,
        });
        if (r !== null) ok++;
      }
    };
    await Promise.all(Array.from({ length: 25 }, (_, i) => worker(i)));
    expect(ok).toBe(1_000);
    const after = await routerSeries();
    expect([...after].filter((s) => !before.has(s))).toEqual([]);
    expect(after.size).toBe(before.size);
  });
});
