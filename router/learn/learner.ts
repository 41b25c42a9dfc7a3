/**
 * The learner (ADR 12): per (segment, provider) judge evidence → retention estimate and lower bound, shrunk toward
 * the declared-score prediction when samples are few.
 *
 * Model. R̂ = S_r/S_b with the delta-method variance of ADR 10, so a sample's retention has standard deviation
 * σ̂ = √(n·Var(R̂)). At small n σ̂ is unreliable, so it is pooled with a reference σ0 = 0.3 worth ν0 = 2 degrees of
 * freedom: σ² = (ν0·σ0² + (n−1)·σ̂²) / (ν0 + n − 1). Prior: R ~ N(μ0, σ0²/κ), μ0 the declared prediction and κ its
 * strength in pseudo-samples of the reference σ0 (default 20: prior sd 0.067). Conjugate-normal posterior:
 *
 *   P0 = κ/σ0²,  Pd = n/σ²,  estimate = (P0·μ0 + Pd·R̂) / (P0 + Pd),  sd = 1/√(P0 + Pd),
 *   lower = estimate − t(0.95, ν0 + n − 1)·sd
 *
 * Measuring the prior in reference samples (not in the data's σ) keeps it weak against a precise judge, so a wrong
 * declared score costs little coverage once a few dozen samples are in.
 *
 * Judge noise: the sums are unmixed with the judge's flip rate f first (sums.ts), which moves R̂ down by ≈ 1/(1−2f)
 * of its deficit and inflates σ̂² by ≈ 1/(1−2f)².
 */
import type { LearnedEntry } from "../config/types.js";
import { MAX_FLIP_RATE, ratioEstimate, tQuantile, unmixSums, Z_95, addSample, EMPTY_SUMS } from "./sums.js";
import type { JudgeSums } from "./sums.js";

export const DEFAULT_PRIOR_SAMPLES = 20;
/** Prior guess of a sample's retention standard deviation (scores 1–10, ratio per sample). */
export const PRIOR_SAMPLE_SD = 0.3;
/** Degrees of freedom that prior guess is worth. */
export const PRIOR_SD_DF = 2;
/** Feedback estimates the flip rate only with at least this many judged-and-rated samples. */
export const MIN_FEEDBACK_PAIRS = 30;

export interface LearnerOptions {
  /** κ: prior strength in pseudo-samples. Default 20. */
  priorSamples?: number;
  /** The judge's flip rate f (estimateFlipRate). Default 0. */
  flipRate?: number;
  /** Normal quantile of the one-sided bound. Default 1.645 (95%). */
  z?: number;
}

export interface CellEstimate {
  estimate: number;
  lower: number;
  /** Posterior standard deviation. */
  sd: number;
  samples: number;
}

/** The posterior retention of one (segment, provider) cell from its judge sums and its declared prediction. */
export function learnCell(sums: JudgeSums, prior: number, options: LearnerOptions = {}): CellEstimate {
  const kappa = options.priorSamples ?? DEFAULT_PRIOR_SAMPLES;
  const z = options.z ?? Z_95;
  const s = unmixSums(sums, options.flipRate ?? 0);
  const { ratio, variance } = ratioEstimate(s);
  const n = Number.isFinite(ratio) ? s.n : 0;
  const sampleVar = n >= 2 && Number.isFinite(variance) ? n * variance : 0;
  const df = PRIOR_SD_DF + Math.max(0, n - 1);
  const sigma2 = (PRIOR_SD_DF * PRIOR_SAMPLE_SD ** 2 + Math.max(0, n - 1) * sampleVar) / df;
  const p0 = kappa / PRIOR_SAMPLE_SD ** 2;
  const pd = n / sigma2;
  if (p0 + pd === 0) return { estimate: prior, lower: 0, sd: Number.POSITIVE_INFINITY, samples: 0 };
  const estimate = (p0 * prior + (n > 0 ? pd * ratio : 0)) / (p0 + pd);
  const sd = 1 / Math.sqrt(p0 + pd);
  return { estimate, lower: estimate - tQuantile(z, df) * sd, sd, samples: sums.n };
}

/** One (segment, provider) cell's evidence and its declared-score prior. */
export interface CellEvidence extends JudgeSums {
  segment: string;
  provider: string;
  /** The declared-score prediction of the retention (segment.ts declaredRetention, or the samples' mean). */
  prior: number;
}

/**
 * The learned table: one entry per cell with samples, sorted by segment then provider. The estimate is rounded to
 * 4 decimals and the bound rounded down, so a table recomputed on the same evidence is the same config.
 */
export function learnTable(cells: readonly CellEvidence[], options: LearnerOptions = {}): LearnedEntry[] {
  return cells
    .filter((c) => c.n > 0)
    .map((c) => {
      const e = learnCell(c, c.prior, options);
      return {
        segment: c.segment,
        provider: c.provider,
        estimate: round4(e.estimate),
        lower: Math.floor(e.lower * 1e4) / 1e4,
        samples: e.samples,
      };
    })
    .sort((a, b) => compare(a.segment, b.segment) || compare(a.provider, b.provider));
}

/** A judged sample as the learner sees it. */
export interface Label {
  segment: string;
  /** The provider whose answer was the routed side. */
  provider: string;
  /** Mean of the routed answer's two position grades (1–10). */
  routed: number;
  /** Mean of the baseline answer's two position grades (1–10). */
  baseline: number;
}

/**
 * Standalone mode: the cells of a window of labels. `prior(segment, provider)` is the declared prediction;
 * cells come out in first-seen order.
 */
export function cellsOf(
  labels: readonly Label[],
  prior: (segment: string, provider: string) => number,
): CellEvidence[] {
  const cells = new Map<string, CellEvidence>();
  for (const l of labels) {
    const key = `${l.segment}\u0000${l.provider}`;
    const cell = cells.get(key) ?? {
      segment: l.segment,
      provider: l.provider,
      prior: prior(l.segment, l.provider),
      ...EMPTY_SUMS,
    };
    cells.set(key, { ...cell, ...addSample(cell, l.routed, l.baseline) });
  }
  return [...cells.values()];
}

/** How often the judge contradicts itself or the users. */
export interface JudgeNoiseEvidence {
  /** Judged samples whose two position gradings were not both ties. */
  ordered: number;
  /** Σ swapDisagreement over those samples. */
  disagreements: number;
  /** Judged samples that also got explicit feedback. */
  feedbackPairs?: number;
  /** Of those, how many the judge and the user disagree on (feedbackDisagrees). */
  feedbackDisagreements?: number;
}

/** A position grading: score_a and score_b of one judge call. */
export interface PositionGrades {
  scoreA: number;
  scoreB: number;
}

/**
 * Whether the two position gradings of a sample order routed vs baseline differently. `first` has the routed
 * answer in position A, `second` in position B. 1: opposite orders; 0.5: one calls it a tie, the other does not;
 * 0: the same order (or both ties).
 */
export function swapDisagreement(first: PositionGrades, second: PositionGrades): 0 | 0.5 | 1 {
  const o1 = Math.sign(first.scoreA - first.scoreB);
  const o2 = Math.sign(second.scoreB - second.scoreA);
  if (o1 === o2) return 0;
  return o1 === 0 || o2 === 0 ? 0.5 : 1;
}

/** Whether a sample tells anything about flips (not both gradings ties), and how much its gradings disagree. */
export function positionAgreement(
  first: PositionGrades,
  second: PositionGrades,
): { ordered: boolean; disagreement: 0 | 0.5 | 1 } {
  const ordered = first.scoreA !== first.scoreB || second.scoreA !== second.scoreB;
  return { ordered, disagreement: swapDisagreement(first, second) };
}

/**
 * A feedback disagreement: the judge ranks the routed answer below the baseline's while the user scored it ≥ 0.5,
 * or at or above the baseline's while the user scored it below 0.5.
 */
export function feedbackDisagrees(routed: number, baseline: number, feedback: number): boolean {
  return routed < baseline !== feedback < 0.5;
}

/**
 * The judge's flip rate f. Two independent gradings that each flip with probability f order the sides
 * differently with probability d = 2f(1−f), so f_swap = (1 − √(1 − 2d)) / 2. Feedback sees errors a swap cannot
 * (a judge wrong in both positions): f_feedback = disagreements / pairs, counted from MIN_FEEDBACK_PAIRS pairs.
 * f = max of the two, capped at MAX_FLIP_RATE. Grading noise that changes the order without biasing the mean also
 * counts as flips, so the correction errs on the safe side (a lower, wider bound).
 */
export function estimateFlipRate(e: JudgeNoiseEvidence): number {
  const d = e.ordered > 0 ? e.disagreements / e.ordered : 0;
  const fSwap = (1 - Math.sqrt(Math.max(0, 1 - 2 * Math.min(d, 0.5)))) / 2;
  const pairs = e.feedbackPairs ?? 0;
  const fFeedback = pairs >= MIN_FEEDBACK_PAIRS ? (e.feedbackDisagreements ?? 0) / pairs : 0;
  return Math.min(Math.max(fSwap, fFeedback), MAX_FLIP_RATE);
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
