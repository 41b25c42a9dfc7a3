import { describe, expect, it } from "vitest";
import { budgetStatus, significant, spendQuery, spentOf } from "./spend.js";

const budget = { usd: 10, period: "day", onExhausted: "degrade", degradeAt: 0.8 } as const;
const now = new Date("2026-12-01T15:30:00Z");

describe("budget spend", () => {
  it("queries one scope's increase since the period began, per name and namespace", () => {
    expect(spendQuery("key", 55_800)).toBe(
      'sum by (name, namespace) (increase(routewise_spend_usd_total{scope="key"}[55800s]))',
    );
  });

  it("takes the series of the gateway's namespace, else one without a namespace label, else 0", () => {
    const samples = [
      { labels: { name: "team-a/bot", namespace: "other" }, value: 9 },
      { labels: { name: "team-a/bot", namespace: "gw" }, value: 1.5 },
    ];
    expect(spentOf(samples, { name: "team-a/bot", namespace: "gw" })).toBe(1.5);
    expect(spentOf([{ labels: { name: "team-a/bot" }, value: 2 }], { name: "team-a/bot", namespace: "gw" })).toBe(2);
    expect(spentOf(samples, { name: "team-a/other", namespace: "gw" })).toBe(0);
    expect(spentOf([{ labels: { name: "x" }, value: NaN }], { name: "x", namespace: "gw" })).toBe(0);
  });

  it("shows spend and what is left for a reading of the current period", () => {
    const reading = { periodStart: "2026-12-01T00:00:00.000Z", spentUsd: 2.34567 };
    expect(budgetStatus(budget, reading, now)).toEqual({
      period: "day",
      periodStart: "2026-12-01T00:00:00.000Z",
      spentUsd: 2.35,
      remainingUsd: 7.65,
    });
  });

  it("never shows less than nothing left", () => {
    const reading = { periodStart: "2026-12-01T00:00:00.000Z", spentUsd: 12 };
    expect(budgetStatus(budget, reading, now).remainingUsd).toBe(0);
  });

  it("shows only the period without a reading, or with one of a period that has ended", () => {
    const stale = { periodStart: "2026-11-30T00:00:00.000Z", spentUsd: 3 };
    const expected = { period: "day", periodStart: "2026-12-01T00:00:00.000Z" };
    expect(budgetStatus(budget, undefined, now)).toEqual(expected);
    expect(budgetStatus(budget, stale, now)).toEqual(expected);
  });

  it("keeps 3 significant digits", () => {
    expect(significant(0.000123456)).toBe(0.000123);
    expect(significant(1234.5)).toBe(1230);
    expect(significant(0)).toBe(0);
  });
});
