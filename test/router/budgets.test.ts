/**
 * Budgets (issue 17) on one router in this process, in memory: a client key's, its team's and its route's; the
 * relaxed objective past degradeAt, the cheapest candidate once a degrading budget is spent, 429
 * insufficient_quota once a rejecting one is; x-routewise-budget-remaining-usd; the spend metrics; the key value
 * never in a log line or a metric. Across replicas with Redis: shared-state.test.ts.
 */
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BudgetConfig } from "../../router/config/types.js";
import { startOpenAIMock, type OpenAIMockHandle } from "../mocks/openai-mock.js";
import { captureLogs } from "./harness.js";
import {
  clientKey,
  metricValue,
  mockProvider,
  route,
  routerConfig,
  startJsonRouter,
  type JsonRouter,
} from "./json-router.js";

const SALT = "5a17f0e7e57b0d9e75a17f0e7e57b0d9";
const KEYS = {
  alice: "rw-alice-SECRET-value-0123456789",
  bob: "rw-bob-SECRET-value-9876543210",
  carol: "rw-carol-SECRET-value-5555555555",
};
const CREDENTIALS = { "default.cheap": "sk-cheap", "default.strong": "sk-strong" };

const budget = (b: Partial<BudgetConfig>): BudgetConfig => ({
  usd: 0.01,
  period: "day",
  onExhausted: "reject",
  degradeAt: 0.5,
  ...b,
});

let cheap: OpenAIMockHandle;
let strong: OpenAIMockHandle;
let router: JsonRouter;
const logs = captureLogs();

beforeAll(async () => {
  [cheap, strong] = await Promise.all([startOpenAIMock(), startOpenAIMock()]);
  const providers = [mockProvider("cheap", cheap.url, 80, [5, 15]), mockProvider("strong", strong.url, 90, [50, 150])];
  // Objective 1: normally only the baseline (strong) keeps it; relaxed (0.95), cheap does too on easy prompts.
  const objective = { minQualityRetention: 1, maxCostPerRequestUSD: null, minConfidence: 0 };
  const routes = [
    route("chat", ["default/cheap", "default/strong"], "default/strong", { objective }),
    route("capped", ["default/cheap", "default/strong"], "default/strong", {
      objective,
      budget: budget({ usd: 5, period: "month", onExhausted: "degrade", degradeAt: 0.99 }),
    }),
  ];
  const keys = {
    salt: SALT,
    keys: [
      clientKey(SALT, { name: "team-a/alice", key: KEYS.alice, team: "a", budget: budget({}) }),
      clientKey(SALT, {
        name: "team-a/bob",
        key: KEYS.bob,
        team: "a",
        budget: budget({ usd: 0.001, onExhausted: "degrade", degradeAt: 1 }),
      }),
      clientKey(SALT, { name: "team-b/carol", key: KEYS.carol, team: "b", routes: ["capped"] }),
    ],
    teams: [{ team: "b", budget: budget({ usd: 2, period: "week" }) }],
  };
  router = await startJsonRouter(routerConfig(providers, routes, keys), CREDENTIALS, { logger: logs.logger });
});

afterAll(async () => {
  await router.stop();
  await Promise.all([cheap.close(), strong.close()]);
});

async function chat(key: string, model = "chat", extra: Record<string, unknown> = {}) {
  const res = await request(`${router.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ model, max_tokens: 16, messages: [{ role: "user", content: "Hello there!" }], ...extra }),
  });
  const text = await res.body.text();
  const header = (n: string) => res.headers[n] as string | undefined;
  return {
    status: res.statusCode,
    model: header("x-routewise-model"),
    decision: header("x-routewise-decision"),
    cost: Number(header("x-routewise-cost-usd") ?? 0),
    remaining: header("x-routewise-budget-remaining-usd"),
    retryAfter: header("retry-after"),
    body: (text.startsWith("data:") ? {} : JSON.parse(text)) as {
      error?: { type: string; code: string; message: string };
    },
    trailers: res.trailers,
    text,
  };
}

describe("budgets", () => {
  it("steps a key past degradeAt down to the relaxed objective, then answers 429 insufficient_quota until midnight UTC", async () => {
    const answers: Awaited<ReturnType<typeof chat>>[] = [];
    for (let i = 0; i < 100; i++) {
      const a = await chat(KEYS.alice);
      answers.push(a);
      if (a.status !== 200) break;
    }
    const served = answers.filter((a) => a.status === 200);
    const spentBefore = served.map((_, i) => served.slice(0, i).reduce((n, a) => n + a.cost, 0));
    // Under half the budget: the route's choice (strong); past it: the cheapest meeting objective − 0.05.
    served.forEach((a, i) =>
      expect(a.model, `answer ${i}`).toBe(spentBefore[i]! < 0.005 ? "strong-model" : "cheap-model"),
    );
    expect(served.some((a) => a.model === "cheap-model" && a.decision?.includes("budget=relaxed(-0.05)"))).toBe(true);
    const refused = answers[answers.length - 1]!;
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ type: "insufficient_quota", code: "insufficient_quota" });
    expect(refused.body.error?.message).toMatch(/the key budget of team-a\/alice \(\$0\.01 per day\)/);
    const midnight = Math.ceil(Date.now() / 86_400_000) * 86_400_000;
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(Math.floor((midnight - Date.now()) / 1000) - 5);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(Math.ceil((midnight - Date.now()) / 1000) + 1);
    // Sequential requests never overshoot by more than one answer's cost beyond its estimate.
    const spent = served.reduce((n, a) => n + a.cost, 0);
    expect(spent).toBeLessThanOrEqual(0.01);
    expect(Number(served[served.length - 1]!.remaining)).toBeCloseTo(0.01 - spent, 7);
    expect(
      await metricValue(router.router, "routewise_spend_usd_total", { scope: "key", name: "team-a/alice" }),
    ).toBeCloseTo(spent, 7);
    expect(
      (await metricValue(router.router, "routewise_budget_rejected_requests_total", {
        scope: "key",
        name: "team-a/alice",
        reason: "estimate",
      })) +
        (await metricValue(router.router, "routewise_budget_rejected_requests_total", {
          scope: "key",
          name: "team-a/alice",
          reason: "exhausted",
        })),
    ).toBe(1);
    expect(
      await metricValue(router.router, "routewise_budget_degraded_requests_total", {
        scope: "key",
        name: "team-a/alice",
        reason: "past_degrade_at",
      }),
    ).toBeGreaterThan(0);
  });

  it("sends every request of a spent degrading budget to the cheapest candidate and never refuses it", async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await chat(KEYS.bob));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
    expect(answers[0]!.model).toBe("strong-model"); // $0.001: one strong answer spends it
    for (const a of answers.slice(1)) {
      expect(a.model).toBe("cheap-model");
      expect(a.decision).toContain("budget=exhausted; cheapest");
      expect(a.remaining).toBe("0.0");
    }
    expect(
      await metricValue(router.router, "routewise_budget_degraded_requests_total", {
        scope: "key",
        name: "team-a/bob",
        reason: "exhausted",
      }),
    ).toBe(3);
  });

  it("answers the smallest remaining of the key's team's and route's budgets, as a stream's trailer too", async () => {
    const a = await chat(KEYS.carol, "capped");
    expect(a.status).toBe(200);
    // Team b: $2 a week; route capped: $5 a month. Carol's key has no budget of its own.
    expect(Number(a.remaining)).toBeCloseTo(2 - a.cost, 8);
    const s = await chat(KEYS.carol, "capped", { stream: true, stream_options: { include_usage: true } });
    expect(s.status).toBe(200);
    const cost = Number(s.trailers["x-routewise-cost-usd"]);
    expect(Number(s.trailers["x-routewise-budget-remaining-usd"])).toBeCloseTo(2 - a.cost - cost, 8);
    expect(await metricValue(router.router, "routewise_spend_usd_total", { scope: "team", name: "b" })).toBeCloseTo(
      a.cost + cost,
      8,
    );
    expect(
      await metricValue(router.router, "routewise_spend_usd_total", { scope: "route", name: "capped" }),
    ).toBeCloseTo(a.cost + cost, 8);
    expect(await metricValue(router.router, "routewise_budget_limit_usd", { scope: "route", name: "capped" })).toBe(5);
  });

  it("refuses a key that may not use the route, and a key that is not in the config", async () => {
    expect((await chat(KEYS.carol, "chat")).body.error?.code).toBe("model_not_allowed");
    expect((await chat("rw-nobody")).status).toBe(401);
  });

  it("never writes a key's value in a log line or a metric, only its name", async () => {
    const metrics = await request(`${router.router.metricsUrl}/metrics`).then((r) => r.body.text());
    const everything = `${logs.lines.join("\n")}\n${metrics}`;
    expect(everything).toContain("team-a/alice");
    for (const value of Object.values(KEYS)) expect(everything).not.toContain(value);
    expect(everything).not.toContain("SECRET");
  });
});
