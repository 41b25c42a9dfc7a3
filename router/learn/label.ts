/**
 * What a judged request's decision gives its learning label (ADR 12): the segment, the routed side and the
 * probability the policy chose it, and every candidate of the decision as the SLO controller sees it (predicted
 * retention, the answer's cost at its prices). One function for the router's request record and for
 * `routewise simulate`, so a replayed label is the label the router would have counted.
 */
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import type { CandidateOption } from "./controller.js";

/** The part of a decision a label needs (router/select's Selection satisfies it). */
export interface LabelledDecision {
  /** Who chose the provider: the policy, or the rollout sending the request to the baseline. */
  arm: "policy" | "baseline";
  decided: ProviderConfig;
  /** The route's baseline provider. */
  baseline: ProviderConfig;
  reason: string;
  baselineQuality: number;
  /** Predicted quality (0–100) of any provider on this request. */
  predict: (p: ProviderConfig) => number;
  /** Probability that the policy with exploration chose `decided`; absent: 1. */
  propensity?: number;
  segment?: string;
  /** The candidates in the decision's order (primary first). */
  order?: readonly ProviderConfig[];
}

/** A label's decision side; the judge's scores join it when they arrive. */
export interface LabelContext {
  segment: string;
  /** The routed side: the answering provider (the decided one on shadow routes). */
  provider: string;
  /** Probability the policy chose `provider`; 0 when it did not (a fallback answered). */
  propensity: number;
  /** The route's baseline provider. */
  baselineProvider: string;
  options: CandidateOption[];
  baselineCost: number;
}

/**
 * Whether a decision of this route can become a learning label: the route learns, the request has a segment and was
 * routed by the policy (a rule's pin is never learned from; canary's baseline arm is never judged; a shadow route's
 * routed side is the decided provider). The router also needs the route to judge and the request to succeed.
 */
export function learnsFrom(route: Pick<RouteConfig, "learning" | "rollout">, d: LabelledDecision): boolean {
  if (!route.learning || d.segment === undefined || d.reason === "pinned") return false;
  return d.arm === "policy" || route.rollout === "shadow";
}

/**
 * The label context of a decision answered by `answered`: `cost(p)` is the answer's cost at p's prices (the router
 * prices the answer's tokens), `baselineCost` the same at the baseline's.
 */
export function labelContext(
  d: LabelledDecision,
  answered: ProviderConfig,
  cost: (p: ProviderConfig) => number,
  baselineCost: number,
): LabelContext {
  const routed = d.arm === "baseline" ? d.decided : answered;
  const retention = (p: ProviderConfig): number => (d.baselineQuality > 0 ? d.predict(p) / d.baselineQuality : 0);
  return {
    segment: d.segment ?? "",
    provider: routed.id,
    propensity: routed.id === d.decided.id ? (d.propensity ?? 1) : 0,
    baselineProvider: d.baseline.id,
    options: (d.order ?? []).map((p) => ({ provider: p.id, predicted: retention(p), cost: cost(p) })),
    baselineCost,
  };
}
