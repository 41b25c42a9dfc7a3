import { describe, expect, it } from "vitest";
import { qualityQueries, QUALITY_RULES } from "./rules.js";

describe("qualityQueries", () => {
  it("asks each ADR 10 rule once for all routes, by the route label", () => {
    const q = qualityQueries(["support-bot", "assistant", "assistant"]);
    expect(Object.keys(q).sort()).toEqual(Object.keys(QUALITY_RULES).sort());
    expect(q.samples).toBe('routewise:evaluation_samples:increase1h{route=~"assistant|support-bot"}');
    expect(q.lowerBound).toBe('routewise:measured_retention_lower_bound:ratio1h{route=~"assistant|support-bot"}');
  });

  it("escapes regex metacharacters and quotes so a model name matches only itself", () => {
    const q = qualityQueries(["gpt-4o.mini", 'a"b']);
    expect(q.retention).toBe('routewise:measured_retention:ratio1h{route=~"a\\"b|gpt-4o\\\\.mini"}');
  });
});
