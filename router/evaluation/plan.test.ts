import { describe, expect, it } from "vitest";
import { providerConfig, routeConfig } from "../../test/mocks/provider-config.js";
import { isSampled, planEvaluation, type EvaluationCase } from "./plan.js";

const cheap = providerConfig({ id: "ns/cheap", model: "cheap-model" });
const strong = providerConfig({ id: "ns/strong", model: "strong-model" });
const evaluation = { judge: "ns/judge", sampleRate: 1, maxCostPerHourUSD: null };

function evalCase(extra: Partial<EvaluationCase> = {}): EvaluationCase {
  return {
    route: routeConfig({ evaluation }),
    requestId: "r1",
    request: { model: "chat", messages: [{ role: "user", content: "hi" }] },
    jsonMode: false,
    arm: "policy",
    reason: "classifier",
    answered: cheap,
    answer: { text: "hello", toolCalls: [] },
    decided: cheap,
    baseline: strong,
    ...extra,
  };
}

describe("planEvaluation", () => {
  it("asks the baseline for its side when another model answered", () => {
    expect(planEvaluation(evalCase())).toEqual({ kind: "call", provider: strong, side: "baseline" });
  });

  it("scores a sample equal without calls when the baseline answered because the policy chose it", () => {
    expect(planEvaluation(evalCase({ answered: strong, decided: strong }))).toEqual({
      kind: "equal",
      model: "strong-model",
    });
  });

  it("asks the decided model for the routed side of a shadow route", () => {
    const c = evalCase({ route: routeConfig({ evaluation, rollout: "shadow" }), arm: "baseline", answered: strong });
    expect(planEvaluation(c)).toEqual({ kind: "call", provider: cheap, side: "routed" });
  });

  it("skips canary's baseline arm, which measures nothing", () => {
    const c = evalCase({ route: routeConfig({ evaluation, rollout: "canary" }), arm: "baseline", answered: strong });
    expect(planEvaluation(c)).toEqual({ kind: "skip" });
  });
});

describe("isSampled", () => {
  it("never samples a route without evaluation or a pinned request", () => {
    expect(isSampled(evalCase({ route: routeConfig() }))).toBe(false);
    expect(isSampled(evalCase({ reason: "pinned" }))).toBe(false);
    expect(isSampled(evalCase())).toBe(true);
  });
});
