import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { providerConfig, routeConfig } from "../../test/mocks/provider-config.js";
import { contentHash } from "../config/hash.js";
import { ROUTER_CONFIG_VERSION, type RouteConfig, type RouterConfig } from "../config/types.js";
import type { LearningLabel } from "../learn/evidence.js";
import { LocalLearner } from "./local-learning.js";

const cheap = providerConfig({ id: "p/cheap", model: "cheap-1", quality: { score: 70, domains: {} } });
const strong = providerConfig({ id: "p/strong", model: "strong-1", quality: { score: 90, domains: {} } });

function config(learning: RouteConfig["learning"], window = 3): RouterConfig {
  const route = routeConfig({
    name: "chat",
    candidates: [{ provider: cheap.id }, { provider: strong.id }] as RouteConfig["candidates"],
    baseline: strong.id,
    evaluation: { judge: strong.id, sampleRate: 1, maxCostPerHourUSD: null },
    learning: learning ? { ...learning, window } : null,
  });
  const body = {
    version: ROUTER_CONFIG_VERSION as RouterConfig["version"],
    providers: [cheap, strong],
    routes: [route],
  };
  return { ...body, hash: contentHash(body) };
}

const LEARNING = { tags: [], exploration: 0, window: 3 };

function label(routed: number): LearningLabel {
  return {
    segment: "-|qa|d0",
    model: "cheap-1",
    provider: cheap.id,
    baselineProvider: strong.id,
    routed,
    baseline: 9,
    propensity: 1,
    options: [
      { provider: cheap.id, predicted: 0.97, cost: 1 },
      { provider: strong.id, predicted: 1, cost: 10 },
    ],
    baselineCost: 10,
    agreement: null,
  };
}

describe("LocalLearner", () => {
  it("serves a table learned from the route's window and rehashes the config", () => {
    const learner = new LocalLearner(pino({ level: "silent" }));
    const loaded = config(LEARNING);
    learner.configure(loaded);
    learner.observe("chat", label(8));
    const next = learner.relearn(loaded)!;
    expect(next.routes[0]?.learned).toMatchObject({ labels: 1, threshold: null, flipRate: 0 });
    expect(next.routes[0]?.learned?.entries.map((e) => [e.provider, e.samples])).toEqual([["p/cheap", 1]]);
    const { hash, ...body } = next;
    expect(hash).toBe(contentHash(body));
    expect(hash).not.toBe(loaded.hash);
  });

  it("returns null when relearning changes no table", () => {
    const learner = new LocalLearner(pino({ level: "silent" }));
    const loaded = config(LEARNING);
    learner.configure(loaded);
    learner.observe("chat", label(8));
    const served = learner.relearn(loaded)!;
    expect(learner.relearn(served)).toBeNull();
  });

  it("keeps only the most recent window of labels", () => {
    const learner = new LocalLearner(pino({ level: "silent" }));
    learner.configure(config(LEARNING));
    for (const r of [5, 6, 7, 8, 9]) learner.observe("chat", label(r));
    expect(learner.labelCount("chat")).toBe(3);
  });

  it("overlays the latest table on a reloaded config, and forgets a route that stopped learning", () => {
    const learner = new LocalLearner(pino({ level: "silent" }));
    learner.configure(config(LEARNING));
    learner.observe("chat", label(8));
    const served = learner.relearn(config(LEARNING))!;
    const reloaded = config(LEARNING);
    learner.configure(reloaded);
    expect(learner.overlay(reloaded).routes[0]?.learned).toEqual(served.routes[0]?.learned);
    const off = config(null);
    learner.configure(off);
    expect(learner.labelCount("chat")).toBe(0);
    expect(learner.overlay(off)).toBe(off);
    learner.observe("chat", label(8));
    expect(learner.labelCount("chat")).toBe(0);
  });
});
