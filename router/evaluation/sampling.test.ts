import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CANARY_PREFIX, draw, EVALUATION_PREFIX, explorationDraws, rolloutArm, sampled } from "./sampling.js";

describe("sampling draw", () => {
  it("reads the first 8 bytes of sha256(prefix + request id) big-endian over 2^64", () => {
    const digest = createHash("sha256").update("routewise-eval:req-42").digest();
    const expected = Number(digest.readBigUInt64BE(0)) / 2 ** 64;
    expect(draw(EVALUATION_PREFIX, "req-42")).toBe(expected);
    expect(expected).toBeGreaterThanOrEqual(0);
    expect(expected).toBeLessThan(1);
  });

  it("gives the same answer for the same request id (replicas agree)", () => {
    expect(sampled("abc", 0.5)).toBe(sampled("abc", 0.5));
    expect(sampled("abc", 0)).toBe(false);
    expect(sampled("abc", 1)).toBe(true);
  });

  it("samples close to the rate over many request ids", () => {
    const n = 10_000;
    const hits = Array.from({ length: n }, (_, i) => sampled(`r-${i}`, 0.1)).filter(Boolean).length;
    expect(Math.abs(hits / n - 0.1)).toBeLessThan(4 * Math.sqrt((0.1 * 0.9) / n));
  });

  it("draws independently for the canary and for judge sampling", () => {
    const ids = Array.from({ length: 4000 }, (_, i) => `id-${i}`);
    const both = ids.filter((id) => draw(EVALUATION_PREFIX, id) < 0.5 && draw(CANARY_PREFIX, id) < 0.5).length;
    expect(Math.abs(both / ids.length - 0.25)).toBeLessThan(0.03);
  });
});

describe("rolloutArm", () => {
  it("sends enforce to the policy and shadow to the baseline", () => {
    expect(rolloutArm({ rollout: "enforce" }, "x")).toBe("policy");
    expect(rolloutArm({ rollout: "shadow" }, "x")).toBe("baseline");
  });

  it("sends canaryPercent of request ids to the policy when rollout is canary", () => {
    const arms = Array.from({ length: 2000 }, (_, i) => rolloutArm({ rollout: "canary", canaryPercent: 10 }, `c-${i}`));
    const expected = Array.from({ length: 2000 }, (_, i) => draw(CANARY_PREFIX, `c-${i}`) < 0.1).filter(Boolean).length;
    expect(arms.filter((a) => a === "policy")).toHaveLength(expected);
    expect(rolloutArm({ rollout: "canary" }, "any")).toBe("policy");
    expect(rolloutArm({ rollout: "canary", canaryPercent: 0 }, "any")).toBe("baseline");
  });
});

describe("explorationDraws", () => {
  it("is deterministic per request id and independent of the judge and canary draws", () => {
    expect(explorationDraws("req-1")).toEqual(explorationDraws("req-1"));
    const ids = Array.from({ length: 20_000 }, (_, i) => `req-${i}`);
    const explores = ids.filter((id) => explorationDraws(id).u < 0.02);
    expect(explores.length / ids.length).toBeCloseTo(0.02, 2);
    // Exploring requests are judged at the usual rate: the draws do not line up.
    expect(explores.filter((id) => sampled(id, 0.5)).length / explores.length).toBeCloseTo(0.5, 1);
  });
});
