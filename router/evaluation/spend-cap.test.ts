import { describe, expect, it } from "vitest";
import { HOUR_MS, SpendCap } from "./spend-cap.js";

describe("SpendCap", () => {
  const t0 = 1000 * HOUR_MS;

  it("pauses a route once its spend in the clock hour reaches the cap", () => {
    const cap = new SpendCap();
    cap.add("chat", t0 + 10, 0.4);
    expect(cap.paused("chat", t0 + 20, 1)).toBe(false);
    cap.add("chat", t0 + 30, 0.6);
    expect(cap.paused("chat", t0 + 40, 1)).toBe(true);
    expect(cap.paused("other", t0 + 40, 1)).toBe(false);
  });

  it("resumes in the next clock hour", () => {
    const cap = new SpendCap();
    cap.add("chat", t0 + HOUR_MS - 1, 5);
    expect(cap.paused("chat", t0 + HOUR_MS - 1, 1)).toBe(true);
    expect(cap.paused("chat", t0 + HOUR_MS, 1)).toBe(false);
    expect(cap.spent("chat", t0 + HOUR_MS)).toBe(0);
  });

  it("never pauses a route without a cap", () => {
    const cap = new SpendCap();
    cap.add("chat", t0, 1e9);
    expect(cap.paused("chat", t0, null)).toBe(false);
  });

  it("forgets routes that are no longer configured", () => {
    const cap = new SpendCap();
    cap.add("gone", t0, 3);
    cap.retain(new Set(["chat"]));
    expect(cap.spent("gone", t0)).toBe(0);
  });
});
