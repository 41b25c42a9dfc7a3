import { describe, expect, it } from "vitest";
import type { BudgetConfig } from "../config/types.js";
import { providerConfig } from "../../test/mocks/provider-config.js";
import { cheapestEstimate, judgeBudgets, type AppliedBudget } from "./budget.js";
import type { RequestFeatures } from "./types.js";

const budget = (b: Partial<BudgetConfig> = {}): BudgetConfig => ({
  usd: 1,
  period: "day",
  onExhausted: "reject",
  degradeAt: 0.8,
  ...b,
});
const applied = (spent: number, b: Partial<BudgetConfig> = {}, scope: AppliedBudget["scope"] = "key") => ({
  scope,
  name: scope === "key" ? "ns/alice" : "chat",
  budget: budget(b),
  spent,
});

describe("judgeBudgets", () => {
  it("leaves a request under every degradeAt alone and reports the smallest remaining", () => {
    const v = judgeBudgets([applied(0.1), applied(0.5, { usd: 2 }, "route")], 0.01);
    expect(v).toEqual({ level: "normal", degradedBy: null, rejectedBy: null, remaining: 0.9 });
  });

  it("relaxes the objective past degradeAt, for a rejecting budget too", () => {
    const v = judgeBudgets([applied(0.85)], 0.01);
    expect([v.level, v.degradedBy?.reason, v.rejectedBy]).toEqual(["relaxed", "past_degrade_at", null]);
  });

  it("rejects once a rejecting budget is spent, and once the request's estimate does not fit what is left", () => {
    expect(judgeBudgets([applied(1)], 0).rejectedBy?.reason).toBe("exhausted");
    expect(judgeBudgets([applied(0.995)], 0.01).rejectedBy?.reason).toBe("estimate");
    expect(judgeBudgets([applied(0.98)], 0.01).rejectedBy).toBeNull();
  });

  it("sends to the cheapest only once a degrading budget is spent, over another budget's relaxed level", () => {
    const v = judgeBudgets([applied(0.9, {}, "key"), applied(3, { usd: 3, onExhausted: "degrade" }, "route")], 0);
    expect([v.level, v.degradedBy?.budget.scope, v.rejectedBy, v.remaining]).toEqual(["cheapest", "route", null, 0]);
  });

  it("treats a zero budget as spent", () => {
    expect(judgeBudgets([applied(0, { usd: 0, onExhausted: "degrade" })], 0).level).toBe("cheapest");
  });
});

describe("cheapestEstimate", () => {
  const request: RequestFeatures = {
    promptTokens: 1000,
    maxOutputTokens: 500,
    needsTools: false,
    needsVision: true,
    needsJson: false,
    stream: false,
    header: () => undefined,
    metadata: {},
  };

  it("prices the request at the cheapest provider that can serve it", () => {
    const cheapBlind = providerConfig({
      id: "cheap",
      pricing: { inputPerMillion: 0.1, outputPerMillion: 0.1, cachedInputPerMillion: 0.1 },
      capabilities: { tools: true, vision: false, jsonMode: true, streaming: true },
    });
    const seeing = providerConfig({ id: "seeing" }); // $1 / $2 per million
    expect(cheapestEstimate([cheapBlind, seeing], request)).toBeCloseTo((1000 * 1 + 500 * 2) / 1e6, 12);
    expect(cheapestEstimate([cheapBlind], request)).toBe(0);
  });
});
