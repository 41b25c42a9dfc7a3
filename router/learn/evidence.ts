/**
 * A learning route's evidence as additive sums (ADR 12, "Where it runs"): what the router's counters carry, what the
 * operator reads back from Prometheus (summed over replicas and a range), and what a standalone router folds from
 * its own window of labels. Sums of disjoint sets of labels add up, so every replica's series sum in PromQL and the
 * operator and a standalone router run the learner and the controller on the same shape.
 *
 * Per label (a judged request of a learning route):
 * - its cell (segment × the routed side's model): ADR 10's sums n, S_r, S_b, S_rr, S_bb, S_rb;
 * - for every threshold t of THRESHOLD_GRID: the cost of π_t's choice, and — when the judged provider is π_t's
 *   choice — one matched label with the judge sums weighted by 1/propensity (controller.ts); when π_t's choice is
 *   not the baseline, one away label, and one matched away label when it is also the judged provider (the
 *   controller's support);
 * - the route's label count and the baseline's cost;
 * - the judge's position agreement (learner.ts estimateFlipRate).
 */
import { contributionAt, type CandidateOption, type ThresholdSums } from "./controller.js";
import type { JudgeNoiseEvidence } from "./learner.js";
import { addSample, EMPTY_SUMS, type JudgeSums } from "./sums.js";

/**
 * The thresholds the router counts for and the controller chooses from: 0.70, 0.71, …, 1.00. A fixed grid keeps
 * the `threshold` label bounded (31 values) and lets replicas' series add up.
 */
export const THRESHOLD_GRID: readonly number[] = Array.from({ length: 31 }, (_, i) => (70 + i) / 100);

/** The `threshold` label value of a grid threshold: two decimals ("0.95"). */
export function thresholdKey(t: number): string {
  return t.toFixed(2);
}

/** How the judge's two position gradings of a sample relate (learner.ts swapDisagreement). */
export interface PositionAgreement {
  /** False when both gradings called it a tie (the sample says nothing about flips). */
  ordered: boolean;
  /** 0, 0.5 or 1. */
  disagreement: number;
}

/** A judged request of a learning route: its decision (from the request record) and its judge scores. */
export interface LearningLabel {
  segment: string;
  /** The routed side's model (the counters' `model` label). */
  model: string;
  /** The routed side's provider. */
  provider: string;
  /** The route's baseline provider (a threshold whose choice is another sends the label away). */
  baselineProvider: string;
  /** Routed and baseline scores, 1–10. */
  routed: number;
  baseline: number;
  /** Probability the logging policy chose `provider`; 0 when it did not choose it (a fallback answered). */
  propensity: number;
  /** The request's candidates: predicted (declared) retention and the answer's cost at each one's prices. */
  options: readonly CandidateOption[];
  /** The answer's cost at the baseline's prices. */
  baselineCost: number;
  /** Null when the judge was not asked (equal answers, the baseline answered). */
  agreement: PositionAgreement | null;
}

/**
 * What one label adds at one threshold: π_t's cost, the weight of its judge sums (0: π_t chose another), and
 * whether π_t sends it away from the baseline.
 */
export interface ThresholdContribution {
  threshold: number;
  cost: number;
  weight: number;
  away: boolean;
}

export function thresholdContributions(
  label: Pick<LearningLabel, "provider" | "propensity" | "options" | "baselineProvider">,
  grid: readonly number[] = THRESHOLD_GRID,
): ThresholdContribution[] {
  return grid.map((threshold) => ({ threshold, ...contributionAt(label, label.baselineProvider, threshold) }));
}

/** One cell's sums: a segment and a model. */
export interface CellSums extends JudgeSums {
  segment: string;
  model: string;
}

/** One threshold's sums; `n` is every label of the window (as in controller.ts). */
export interface ThresholdEvidence extends JudgeSums {
  threshold: number;
  matched: number;
  /** Labels π_t sends away from the baseline, and of those the ones judged on π_t's choice (the support). */
  away: number;
  matchedAway: number;
  cost: number;
}

export interface RouteEvidence {
  labels: number;
  baselineCost: number;
  /** Sorted by segment, then model. */
  cells: CellSums[];
  /** Ascending threshold. */
  thresholds: ThresholdEvidence[];
  judge: JudgeNoiseEvidence;
}

export const NO_EVIDENCE: RouteEvidence = {
  labels: 0,
  baselineCost: 0,
  cells: [],
  thresholds: [],
  judge: { ordered: 0, disagreements: 0, feedbackPairs: 0, feedbackDisagreements: 0 },
};

/** A standalone router's window folded into the sums its counters would carry. */
export function evidenceOf(labels: readonly LearningLabel[], grid: readonly number[] = THRESHOLD_GRID): RouteEvidence {
  const cells = new Map<string, CellSums>();
  const thresholds = grid.map((threshold): ThresholdEvidence => ({
    threshold,
    matched: 0,
    away: 0,
    matchedAway: 0,
    cost: 0,
    ...EMPTY_SUMS,
  }));
  // Feedback pairs are counted by the evaluation record when feedback arrives (a label knows none).
  const judge = { ordered: 0, disagreements: 0, feedbackPairs: 0, feedbackDisagreements: 0 };
  let baselineCost = 0;
  for (const l of labels) {
    const key = `${l.segment}\u0000${l.model}`;
    const cell = cells.get(key) ?? { segment: l.segment, model: l.model, ...EMPTY_SUMS };
    cells.set(key, { ...cell, ...addSample(cell, l.routed, l.baseline) });
    thresholdContributions(l, grid).forEach((c, i) => {
      const t = thresholds[i] as ThresholdEvidence;
      thresholds[i] = {
        ...t,
        ...addSample(t, l.routed, l.baseline, c.weight),
        matched: t.matched + (c.weight > 0 ? 1 : 0),
        away: t.away + (c.away ? 1 : 0),
        matchedAway: t.matchedAway + (c.away && c.weight > 0 ? 1 : 0),
        cost: t.cost + c.cost,
      };
    });
    baselineCost += l.baselineCost;
    if (l.agreement?.ordered) {
      judge.ordered++;
      judge.disagreements += l.agreement.disagreement;
    }
  }
  const sorted = [...cells.values()].sort((a, b) => compare(a.segment, b.segment) || compare(a.model, b.model));
  return { labels: labels.length, baselineCost, cells: sorted, thresholds, judge };
}

/** The controller's input (controller.ts controlFromSums) from the evidence. */
export function thresholdSums(e: RouteEvidence): ThresholdSums[] {
  return e.thresholds.map((t) => ({
    threshold: t.threshold,
    sums: { ...sumsOnly(t), n: e.labels },
    matched: t.matched,
    away: t.away,
    matchedAway: t.matchedAway,
    cost: t.cost,
    baselineCost: e.baselineCost,
  }));
}

function sumsOnly(s: JudgeSums): JudgeSums {
  const { n, sumRouted, sumBaseline, sumRoutedSq, sumBaselineSq, sumProduct } = s;
  return { n, sumRouted, sumBaseline, sumRoutedSq, sumBaselineSq, sumProduct };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
