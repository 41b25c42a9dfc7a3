import { describe, expect, it } from "vitest";
import { periodEnd, periodStart } from "./budget-period.js";

const at = (iso: string) => new Date(iso);

describe("budget periods (UTC calendar)", () => {
  it("start a day at 00:00 UTC and end it at the next midnight", () => {
    expect(periodStart("day", at("2026-12-01T23:59:59.999Z")).toISOString()).toBe("2026-12-01T00:00:00.000Z");
    expect(periodEnd("day", at("2026-12-01T00:00:00.000Z")).toISOString()).toBe("2026-12-02T00:00:00.000Z");
  });

  it("start a week on Monday, also when today is Sunday", () => {
    // 2026-12-06 is a Sunday, 2026-11-30 the Monday before it.
    expect(periodStart("week", at("2026-12-06T12:00:00Z")).toISOString()).toBe("2026-11-30T00:00:00.000Z");
    expect(periodStart("week", at("2026-11-30T00:00:00Z")).toISOString()).toBe("2026-11-30T00:00:00.000Z");
    expect(periodEnd("week", at("2026-12-06T12:00:00Z")).toISOString()).toBe("2026-12-07T00:00:00.000Z");
  });

  it("start a month on the 1st and end it at the next month's, across a year end", () => {
    expect(periodStart("month", at("2026-12-31T23:00:00Z")).toISOString()).toBe("2026-12-01T00:00:00.000Z");
    expect(periodEnd("month", at("2026-12-31T23:00:00Z")).toISOString()).toBe("2027-01-01T00:00:00.000Z");
  });
});
