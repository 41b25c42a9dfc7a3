import { describe, expect, it } from "vitest";
import { overlay, qualityView } from "./written.js";
import { canonical, type CurrentQuality } from "./plan.js";

const T = "2026-12-01T10:00:00.000Z";
const enforce: CurrentQuality = { rollout: { effectiveMode: "enforce", reason: "", since: T } };
const shadow: CurrentQuality = {
  rollout: { effectiveMode: "shadow", reason: "QualityBelowObjective", since: T, generation: 1 },
};

describe("overlay", () => {
  it("decides on what was written while the cache still shows what the write replaced", () => {
    const written = { before: canonical(qualityView(enforce)), after: qualityView(shadow) };
    const r = overlay(enforce, written);
    expect(r.stale).toBe(true);
    expect(r.current?.rollout).toEqual(shadow.rollout);
  });

  it("uses the cache once it shows the write, or anything else", () => {
    const written = { before: canonical(qualityView(enforce)), after: qualityView(shadow) };
    expect(overlay(shadow, written)).toEqual({ current: shadow, stale: false });
    const other: CurrentQuality = { rollout: { effectiveMode: "canary", reason: "", since: T } };
    expect(overlay(other, written)).toEqual({ current: other, stale: false });
    expect(overlay(enforce, undefined)).toEqual({ current: enforce, stale: false });
  });
});
