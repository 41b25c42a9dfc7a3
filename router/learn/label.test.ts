import { describe, expect, it } from "vitest";
import { providerConfig, routeConfig } from "../../test/mocks/provider-config.js";
import type { ProviderConfig } from "../config/types.js";
import { labelContext, learnsFrom, type LabelledDecision } from "./label.js";

const cheap = providerConfig({ id: "p/cheap", model: "cheap-1", quality: { score: 70, domains: {} } });
const strong = providerConfig({ id: "p/strong", model: "strong-1", quality: { score: 90, domains: {} } });
const learning = { tags: [], exploration: 0.1, window: 1000 };
const route = routeConfig({ learning });

const decision = (extra: Partial<LabelledDecision> = {}): LabelledDecision => ({
  arm: "policy",
  decided: cheap,
  baseline: strong,
  reason: "classifier",
  baselineQuality: 80,
  predict: (p: ProviderConfig) => (p.id === cheap.id ? 60 : 80),
  propensity: 0.95,
  segment: "-|qa|d1",
  order: [cheap, strong],
  ...extra,
});
const cost = (p: ProviderConfig): number => (p.id === cheap.id ? 0.1 : 1);

describe("labelContext", () => {
  it("gives every candidate its predicted retention and cost, and the decided provider its propensity", () => {
    expect(labelContext(decision(), cheap, cost, 1)).toEqual({
      segment: "-|qa|d1",
      provider: cheap.id,
      propensity: 0.95,
      baselineProvider: strong.id,
      options: [
        { provider: cheap.id, predicted: 0.75, cost: 0.1 },
        { provider: strong.id, predicted: 1, cost: 1 },
      ],
      baselineCost: 1,
    });
  });

  it("gives propensity 0 when a fallback answered", () => {
    expect(labelContext(decision(), strong, cost, 1)).toMatchObject({ provider: strong.id, propensity: 0 });
  });

  it("names the decided provider as the routed side when the rollout sent the request to the baseline", () => {
    expect(labelContext(decision({ arm: "baseline" }), strong, cost, 1)).toMatchObject({
      provider: cheap.id,
      propensity: 0.95,
    });
  });
});

describe("learnsFrom", () => {
  it("learns from the policy's decisions with a segment on a learning route", () => {
    expect(learnsFrom(route, decision())).toBe(true);
  });

  it("does not learn from pinned decisions, decisions without a segment, or routes without learning", () => {
    expect(learnsFrom(route, decision({ reason: "pinned" }))).toBe(false);
    const { segment: _, ...noSegment } = decision();
    expect(learnsFrom(route, noSegment)).toBe(false);
    expect(learnsFrom(routeConfig({}), decision())).toBe(false);
  });

  it("learns from the baseline arm only on shadow routes", () => {
    expect(learnsFrom(route, decision({ arm: "baseline" }))).toBe(false);
    expect(learnsFrom({ ...route, rollout: "shadow" }, decision({ arm: "baseline" }))).toBe(true);
  });
});
