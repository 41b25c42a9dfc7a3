import { describe, expect, it } from "vitest";
import { readingsFrom, valueFor, type RuleSamples } from "./reading.js";
import { QUALITY_RULES, type QualityRule } from "./rules.js";

function samples(values: Partial<Record<QualityRule, [Record<string, string>, number][]>>): RuleSamples {
  const out = {} as RuleSamples;
  for (const rule of Object.keys(QUALITY_RULES) as QualityRule[])
    out[rule] = (values[rule] ?? []).map(([labels, value]) => ({ labels, value }));
  return out;
}

const target = { key: "ModelRoute/team-a/chat", route: "chat", namespace: "gw", shadow: false };

describe("readingsFrom", () => {
  it("picks each rule's value for the route, with measured savings for a route that is not shadow", () => {
    const s = samples({
      samples: [[{ route: "chat" }, 63]],
      retention: [[{ route: "chat" }, 0.97]],
      lowerBound: [[{ route: "chat" }, 0.93]],
      savingsRatio: [[{ route: "chat" }, 0.6]],
      savedUsdPerHour: [[{ route: "chat" }, 1.25]],
      projectedSavingsRatio: [[{ route: "chat" }, 0.7]],
    });
    expect(readingsFrom(s, [target]).get(target.key)).toEqual({
      samples: 63,
      retention: 0.97,
      lowerBound: 0.93,
      savings: { ratio: 0.6, usdPerHour: 1.25, basis: "measured" },
    });
  });

  it("uses the projected savings rules for an effective shadow route", () => {
    const s = samples({ savingsRatio: [[{ route: "chat" }, 0]], projectedSavingsRatio: [[{ route: "chat" }, 0.7]] });
    expect(readingsFrom(s, [{ ...target, shadow: true }]).get(target.key)?.savings).toEqual({
      ratio: 0.7,
      usdPerHour: null,
      basis: "projected",
    });
  });

  it("has null values when a rule has no series for the route", () => {
    expect(readingsFrom(samples({}), [target]).get(target.key)).toEqual({
      samples: null,
      retention: null,
      lowerBound: null,
      savings: null,
    });
  });
});

describe("valueFor", () => {
  it("prefers the series of the gateway's namespace and ignores other namespaces' routes of that name", () => {
    const list = [
      { labels: { route: "chat", namespace: "other" }, value: 0.1 },
      { labels: { route: "chat", namespace: "gw" }, value: 0.9 },
    ];
    expect(valueFor(list, target)).toBe(0.9);
    expect(valueFor([list[0]!], target)).toBeNull();
    expect(valueFor([{ labels: { route: "chat" }, value: 0.5 }], target)).toBe(0.5);
  });

  it("treats NaN (a 0/0 in a rule) as no value", () => {
    expect(valueFor([{ labels: { route: "chat" }, value: NaN }], target)).toBeNull();
  });
});
