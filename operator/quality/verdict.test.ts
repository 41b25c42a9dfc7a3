import { describe, expect, it } from "vitest";
import { qualityVerdict, round3, type VerdictInput } from "./verdict.js";

const reading = { samples: 80, retention: 0.97, lowerBound: 0.955, savings: null };
const base: VerdictInput = { hasEvaluation: true, objective: 0.95, minSamples: 50, source: { kind: "read", reading } };

describe("qualityVerdict", () => {
  it("is True/ObjectiveMet when the lower bound meets the objective", () => {
    expect(qualityVerdict(base)).toMatchObject({ status: "True", reason: "ObjectiveMet" });
  });

  it("is False/QualityBelowObjective when the lower bound is below the objective", () => {
    const v = qualityVerdict({ ...base, source: { kind: "read", reading: { ...reading, lowerBound: 0.8 } } });
    expect(v).toMatchObject({ status: "False", reason: "QualityBelowObjective" });
    expect(v.message).toContain("lower bound 0.8");
  });

  it("compares the rounded bound, as status shows it", () => {
    const v = qualityVerdict({ ...base, source: { kind: "read", reading: { ...reading, lowerBound: 0.94996 } } });
    expect(v.status).toBe("True");
  });

  it("is Unknown/InsufficientSamples below minSamples, however low the bound", () => {
    const low = { ...reading, samples: 49.6, lowerBound: 0.2 };
    expect(qualityVerdict({ ...base, minSamples: 51, source: { kind: "read", reading: low } })).toMatchObject({
      status: "Unknown",
      reason: "InsufficientSamples",
      message: "50 of 51 judge samples in the last 1h",
    });
    const none = { samples: null, retention: null, lowerBound: null, savings: null };
    expect(qualityVerdict({ ...base, source: { kind: "read", reading: none } }).reason).toBe("InsufficientSamples");
  });

  it("is Unknown/NoMetricsSource without a Prometheus URL, and with the read's error when Prometheus fails", () => {
    expect(qualityVerdict({ ...base, source: { kind: "none" } })).toMatchObject({
      status: "Unknown",
      reason: "NoMetricsSource",
    });
    expect(qualityVerdict({ ...base, source: { kind: "error", error: "query failed: timed out" } }).message).toBe(
      "cannot read Prometheus: query failed: timed out",
    );
  });

  it("is Unknown/NoEvaluation for a route without spec.evaluation, whatever the source", () => {
    expect(qualityVerdict({ ...base, hasEvaluation: false, source: { kind: "none" } }).reason).toBe("NoEvaluation");
  });
});

describe("round3", () => {
  it("rounds to 3 decimals and never yields -0", () => {
    expect(round3(0.93449)).toBe(0.934);
    expect(round3(-0.0001)).toBe(0);
    expect(round3(null)).toBeNull();
  });
});
