import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { providerConfig, routeConfig } from "../../test/mocks/provider-config.js";
import { ROUTER_CONFIG_VERSION, type RouteConfig, type RouterConfig } from "../config/types.js";
import { createRouterMetrics } from "../metrics/metrics.js";
import { createRouterEvents } from "./router-events.js";

function config(routes: RouteConfig[]): RouterConfig {
  return { version: ROUTER_CONFIG_VERSION, hash: "h", providers: [providerConfig()], routes };
}

describe("router events: config applied", () => {
  it("sets each route's objective retention and removes the series of a route that left", async () => {
    const metrics = createRouterMetrics(undefined, { defaultMetrics: false });
    const events = createRouterEvents(metrics, pino({ level: "silent" }));
    const objective = { minQualityRetention: 0.9, maxCostPerRequestUSD: null, minConfidence: 0.5 };
    events.configApplied(config([routeConfig({ name: "a", objective }), routeConfig({ name: "b" })]), new Map());
    const values = async (): Promise<Record<string, number>> => {
      const { values: series } = await metrics.routeObjectiveRetention.get();
      return Object.fromEntries(series.map((v) => [String(v.labels["route"]), v.value]));
    };
    expect(await values()).toEqual({ a: 0.9, b: 0.95 });
    events.configApplied(config([routeConfig({ name: "b" })]), new Map());
    expect(await values()).toEqual({ b: 0.95 });
  });

  it("creates the zeroed request series of each arm a route's rollout can take", async () => {
    const metrics = createRouterMetrics(undefined, { defaultMetrics: false });
    const events = createRouterEvents(metrics, pino({ level: "silent" }));
    const candidates = [{ provider: "default/test-provider", weight: 1 }];
    events.configApplied(
      config([
        routeConfig({ name: "e", candidates }),
        routeConfig({ name: "s", candidates, rollout: "shadow" }),
        routeConfig({ name: "c", candidates, rollout: "canary", canaryPercent: 10 }),
      ]),
      new Map(),
    );
    const arms = (await metrics.baselineCost.get()).values.map((v) => `${v.labels["route"]}:${v.labels["arm"]}`);
    expect(arms.sort()).toEqual(["c:baseline", "c:policy", "e:policy", "s:baseline"]);
    const projected = (await metrics.projectedCost.get()).values.map((v) => v.labels["route"]);
    expect(projected).toEqual(["s"]);
  });
});
