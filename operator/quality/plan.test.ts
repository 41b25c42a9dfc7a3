import { describe, expect, it } from "vitest";
import { validateRoute } from "../api/v1alpha1/validate.js";
import type { ModelRoute } from "../api/v1alpha1/types.js";
import {
  canonical,
  decideRoute,
  learnedStatus,
  qualityFields,
  shadowedByStatus,
  type CurrentQuality,
  type QualitySnapshot,
} from "./plan.js";
import type { LearnedSummary } from "../../router/learn/route-learning.js";

const NOW = "2026-12-01T10:00:00.000Z";
const LATER = "2026-12-01T10:01:00.000Z";

function route(spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): ModelRoute {
  const r = validateRoute({
    apiVersion: "routewise.dev/v1alpha1",
    kind: "ModelRoute",
    metadata: { name: "chat", namespace: "team-a", generation: 2, ...meta },
    spec: {
      modelName: "chat",
      baseline: { name: "big" },
      candidates: [{ name: "small" }],
      evaluation: { judge: { name: "big" } },
      ...spec,
    },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.object;
}

const reading = {
  samples: 80.2,
  retention: 0.97234,
  lowerBound: 0.95111,
  savings: { ratio: 0.61234, usdPerHour: 1.23456, basis: "measured" as const },
};
const snap = (r = reading, seq = 1): QualitySnapshot => ({
  configured: true,
  seq,
  error: null,
  readings: new Map([["ModelRoute/team-a/chat", r]]),
  learning: new Map(),
});

function fields(r: ModelRoute, snapshot: QualitySnapshot, current?: CurrentQuality, now = NOW) {
  const q = decideRoute({ route: r, current, snapshot, streak: { seq: 0, low: 0 }, now, holdMs: 3_600_000 });
  return qualityFields(q, current, r.spec.evaluation !== undefined, { now, generation: 2 });
}

describe("qualityFields", () => {
  it("writes rounded quality and savings, QualityMet True, and the rollout", () => {
    const f = fields(route(), snap());
    expect(f.quality).toEqual({ retention: 0.972, lowerBound: 0.951, samples: 80, window: "1h", observedTime: NOW });
    expect(f.savings).toEqual({ ratio: 0.612, usdPerHour: 1.235, basis: "measured", window: "1h" });
    expect(f.condition).toMatchObject({
      type: "QualityMet",
      status: "True",
      reason: "ObjectiveMet",
      observedGeneration: 2,
    });
    expect(f.rollout).toEqual({ effectiveMode: "enforce", reason: "", since: NOW });
  });

  it("keeps observedTime (so nothing is written) when a new read finds the same rounded values", () => {
    const first = fields(route(), snap());
    const current: CurrentQuality = {
      quality: first.quality!,
      savings: first.savings!,
      rollout: first.rollout,
      conditions: [first.condition!],
    };
    const again = fields(route(), snap({ ...reading, retention: 0.97201 }, 2), current, LATER);
    expect(canonical(again)).toBe(canonical(first));
    const changed = fields(route(), snap({ ...reading, samples: 95 }, 2), current, LATER);
    expect(changed.quality?.observedTime).toBe(LATER);
    expect(changed.condition?.lastTransitionTime).toBe(NOW);
  });

  it("keeps the current values and condition while a configured Prometheus has not been read yet", () => {
    const first = fields(route(), snap());
    const current: CurrentQuality = { quality: first.quality!, conditions: [first.condition!], rollout: first.rollout };
    const pending: QualitySnapshot = {
      configured: true,
      seq: 0,
      error: null,
      readings: new Map(),
      learning: new Map(),
    };
    const f = fields(route(), pending, current, LATER);
    expect(f.quality).toEqual(first.quality);
    expect(f.condition).toEqual(first.condition);
  });

  it("says NoMetricsSource when the read failed, keeping the last numbers", () => {
    const first = fields(route(), snap());
    const failed: QualitySnapshot = {
      configured: true,
      seq: 2,
      error: "query failed: timed out",
      readings: new Map(),
      learning: new Map(),
    };
    const f = fields(route(), failed, { quality: first.quality! }, LATER);
    expect(f.condition).toMatchObject({ status: "Unknown", reason: "NoMetricsSource" });
    expect(f.quality).toEqual(first.quality);
  });

  it("writes savings but no quality for a route without evaluation (QualityMet NoEvaluation)", () => {
    const f = fields(route({ evaluation: undefined }), snap());
    expect(f.quality).toBeUndefined();
    expect(f.savings?.ratio).toBe(0.612);
    expect(f.condition?.reason).toBe("NoEvaluation");
  });
});

describe("shadowedByStatus", () => {
  const shadowed = { effectiveMode: "shadow" as const, reason: "QualityBelowObjective", since: NOW, generation: 2 };

  it("follows another controller's auto shadow for the route's current generation only", () => {
    expect(shadowedByStatus(route(), { rollout: shadowed })).toBe(true);
    expect(shadowedByStatus(route({}, { generation: 3 }), { rollout: shadowed })).toBe(false);
    expect(shadowedByStatus(route(), { rollout: { ...shadowed, reason: "" } })).toBe(false);
  });

  it("stops following it when the reset annotation has a new value", () => {
    const r = route({}, { annotations: { "routewise.dev/reset-auto-shadow": "now" } });
    expect(shadowedByStatus(r, { rollout: shadowed })).toBe(false);
    expect(shadowedByStatus(r, { rollout: { ...shadowed, resetValue: "now" } })).toBe(true);
  });
});

describe("learnedStatus", () => {
  const summary: LearnedSummary = {
    labels: 1200,
    flipRate: 0.04321,
    threshold: 0.93,
    segments: 3,
    entries: 5,
    points: [
      { objective: 0.95, threshold: 0.93, met: true, estimate: 0.97123, lower: 0.95234, savings: 0.41789 },
      { objective: 0.94, threshold: 0.9, met: true, estimate: 0.96, lower: 0.9412, savings: 0.5 },
      { objective: 0.93, threshold: 1, met: false, estimate: Number.NaN, lower: -Infinity, savings: 0 },
    ],
  };

  it("rounds the summary, leaves out numbers a point has none of, and moves observedTime only with a value", () => {
    const first = learnedStatus({ summary, window: "1h" }, undefined, NOW)!;
    expect(first).toEqual({
      labels: 1200,
      window: "1h",
      flipRate: 0.043,
      threshold: 0.93,
      segments: 3,
      entries: 5,
      points: [
        { objective: 0.95, met: true, threshold: 0.93, retention: 0.971, lowerBound: 0.952, savings: 0.418 },
        { objective: 0.94, met: true, threshold: 0.9, retention: 0.96, lowerBound: 0.941, savings: 0.5 },
        { objective: 0.93, met: false, threshold: 1, savings: 0 },
      ],
      observedTime: NOW,
    });
    expect(learnedStatus({ summary, window: "1h" }, first, LATER)?.observedTime).toBe(NOW);
    expect(learnedStatus({ summary: { ...summary, labels: 1201 }, window: "1h" }, first, LATER)?.observedTime).toBe(
      LATER,
    );
  });

  it("says nothing of a threshold left to the objective, and keeps status as is without a fresh table", () => {
    const s = learnedStatus({ summary: { ...summary, threshold: null }, window: "2h" }, undefined, NOW)!;
    expect(s).not.toHaveProperty("threshold");
    expect(learnedStatus(null, s, LATER)).toBe(s);
  });
});
