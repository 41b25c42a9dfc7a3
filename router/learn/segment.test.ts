import { describe, expect, it } from "vitest";
import { providerConfig } from "../../test/mocks/provider-config.js";
import {
  declaredRetention,
  difficultyBucket,
  parseSegmentKey,
  segmentKey,
  segmentOf,
  segmentTag,
  type TaggedRequest,
} from "./segment.js";

const route = { learning: { tags: ["support", "billing"], exploration: 0, window: 1000 } };

function request(metadata: Record<string, unknown>, headers: Record<string, string> = {}): TaggedRequest {
  return { metadata, header: (n) => headers[n] };
}

describe("difficultyBucket", () => {
  it("cuts difficulty at 0.25, 0.5 and 0.75", () => {
    expect([0, 0.2499, 0.25, 0.49, 0.5, 0.74, 0.75, 1].map(difficultyBucket)).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
  });
});

describe("segmentTag", () => {
  it("uses a declared metadata tag", () => {
    expect(segmentTag(route, request({ tag: "support" }), "code")).toBe("support");
  });

  it("uses the x-routewise-tag header when metadata has no tag", () => {
    expect(segmentTag(route, request({}, { "x-routewise-tag": " billing " }), null)).toBe("billing");
  });

  it("falls back to the matched rule for an undeclared tag, so labels stay bounded", () => {
    expect(segmentTag(route, request({ tag: "user-1234" }), "code")).toBe("rule:code");
  });

  it("is '-' without a declared tag or a rule", () => {
    expect(segmentTag(route, request({ tag: "user-1234" }), null)).toBe("-");
    expect(segmentTag({ learning: null }, request({ tag: "support" }), null)).toBe("-");
  });
});

describe("segmentKey", () => {
  it("round-trips through parseSegmentKey", () => {
    const s = segmentOf(route, request({ tag: "support" }), { task: "qa", difficulty: 0.6 }, null);
    expect(segmentKey(s)).toBe("support|qa|d2");
    expect(parseSegmentKey("support|qa|d2")).toEqual(s);
    expect(parseSegmentKey("rule:a|b|code|d3")).toEqual({ tag: "rule:a|b", task: "code", bucket: 3 });
  });

  it("refuses a malformed key", () => {
    expect(parseSegmentKey("support|qa|d4")).toBeNull();
    expect(parseSegmentKey("support|poetry|d1")).toBeNull();
    expect(parseSegmentKey("qa|d1")).toBeNull();
  });
});

describe("declaredRetention", () => {
  it("is 1 for the baseline and falls with difficulty for a weaker model", () => {
    const strong = providerConfig({ id: "s", quality: { score: 90, domains: {} } });
    const weak = providerConfig({ id: "w", quality: { score: 70, domains: {} } });
    expect(declaredRetention(strong, strong, 2)).toBe(1);
    const r = ([0, 1, 2, 3] as const).map((b) => declaredRetention(weak, strong, b));
    expect(r[0]).toBeGreaterThan(r[3]!);
    expect(r[3]).toBeLessThan(1);
  });
});
