import { describe, expect, it } from "vitest";
import { currentPeriod } from "./periods.js";

const at = (iso: string): number => Date.parse(iso);

describe("currentPeriod", () => {
  it("starts a day at 00:00 UTC and ends it at the next midnight", () => {
    const p = currentPeriod("day", at("2026-12-01T23:59:59.999Z"));
    expect(p).toEqual({ start: at("2026-12-01T00:00:00Z"), end: at("2026-12-02T00:00:00Z"), label: "2026-12-01" });
  });

  it("starts a week on Monday, also when the day is a Sunday", () => {
    // 2026-12-06 is a Sunday; its week began on Monday 2026-11-30.
    expect(currentPeriod("week", at("2026-12-06T12:00:00Z"))).toMatchObject({ label: "2026-11-30" });
    expect(currentPeriod("week", at("2026-11-30T00:00:00Z"))).toMatchObject({ label: "2026-11-30" });
    expect(currentPeriod("week", at("2026-12-07T00:00:00Z")).end).toBe(at("2026-12-14T00:00:00Z"));
  });

  it("starts a month on the 1st and ends it on the next month's 1st, across a year", () => {
    const p = currentPeriod("month", at("2026-12-31T10:00:00Z"));
    expect(p).toEqual({ start: at("2026-12-01T00:00:00Z"), end: at("2027-01-01T00:00:00Z"), label: "2026-12-01" });
    expect(currentPeriod("month", at("2028-02-29T00:00:00Z")).end).toBe(at("2028-03-01T00:00:00Z"));
  });
});
