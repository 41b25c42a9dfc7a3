/** The QualityMet decision (ADR 10): pure, from a route's objective and its latest reading. */
import { REASONS, type QualityMetReason } from "../api/v1alpha1/conditions.js";
import type { RouteReading } from "./reading.js";
import { QUALITY_WINDOW } from "./rules.js";

const R = REASONS.QualityMet;

/** Where a route's numbers come from this time. */
export type QualitySource =
  { kind: "none" } | { kind: "error"; error: string } | { kind: "read"; reading: RouteReading };

export interface VerdictInput {
  hasEvaluation: boolean;
  /** objective.minQualityRetention. */
  objective: number;
  /** rollout.minSamples. */
  minSamples: number;
  source: QualitySource;
}

export interface Verdict {
  status: "True" | "False" | "Unknown";
  reason: QualityMetReason;
  message: string;
}

/**
 * In this order: NoEvaluation (nothing measures the route, whatever Prometheus says), NoMetricsSource (no URL,
 * or the read failed), InsufficientSamples (fewer than minSamples, or no bound yet), QualityBelowObjective (the
 * lower bound, rounded as status shows it, below the objective), ObjectiveMet.
 */
export function qualityVerdict(i: VerdictInput): Verdict {
  if (!i.hasEvaluation)
    return unknown(R.noEvaluation, "the route has no spec.evaluation: nothing measures its quality");
  if (i.source.kind === "none")
    return unknown(R.noMetricsSource, "the operator has no --prometheus-url to read measured quality from");
  if (i.source.kind === "error") return unknown(R.noMetricsSource, `cannot read Prometheus: ${i.source.error}`);
  const r = roundReading(i.source.reading);
  const samples = r.samples ?? 0;
  if (samples < i.minSamples || r.lowerBound === null)
    return unknown(R.insufficientSamples, `${samples} of ${i.minSamples} judge samples in the last ${QUALITY_WINDOW}`);
  const measured = `lower bound ${r.lowerBound} of measured retention ${r.retention ?? "?"} over ${samples} samples in ${QUALITY_WINDOW}`;
  if (r.lowerBound < i.objective)
    return { status: "False", reason: R.belowObjective, message: `${measured} is below the objective ${i.objective}` };
  return { status: "True", reason: R.ok, message: `${measured} meets the objective ${i.objective}` };
}

function unknown(reason: QualityMetReason, message: string): Verdict {
  return { status: "Unknown", reason, message };
}

/** Rounded to 3 decimals (samples to a whole number): what status shows, and what the decision uses. */
export function roundReading(r: RouteReading): RouteReading {
  return {
    samples: r.samples === null ? null : Math.round(r.samples),
    retention: round3(r.retention),
    lowerBound: round3(r.lowerBound),
    savings: r.savings && {
      ratio: round3(r.savings.ratio) ?? 0,
      usdPerHour: round3(r.savings.usdPerHour),
      basis: r.savings.basis,
    },
  };
}

export function round3(x: number | null): number | null {
  if (x === null) return null;
  const v = Math.round(x * 1000) / 1000;
  return Object.is(v, -0) ? 0 : v;
}
