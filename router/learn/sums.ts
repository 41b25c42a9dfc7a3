/**
 * Judge evidence as sums (ADR 10's counters carry exactly these), the delta-method ratio bound, and the judge-noise
 * unmixing shared by the learner and the SLO controller (ADR 12).
 */

/** n judged samples and the sums of their routed (r) and baseline (b) scores, squares and products. */
export interface JudgeSums {
  n: number;
  sumRouted: number;
  sumBaseline: number;
  sumRoutedSq: number;
  sumBaselineSq: number;
  sumProduct: number;
}

export const EMPTY_SUMS: JudgeSums = {
  n: 0,
  sumRouted: 0,
  sumBaseline: 0,
  sumRoutedSq: 0,
  sumBaselineSq: 0,
  sumProduct: 0,
};

/** The sums with one more sample of weight `w` (1 for a plain sample; 1/propensity for inverse weighting). */
export function addSample(s: JudgeSums, routed: number, baseline: number, w = 1): JudgeSums {
  return {
    n: s.n + 1,
    sumRouted: s.sumRouted + w * routed,
    sumBaseline: s.sumBaseline + w * baseline,
    sumRoutedSq: s.sumRoutedSq + w * w * routed * routed,
    sumBaselineSq: s.sumBaselineSq + w * w * baseline * baseline,
    sumProduct: s.sumProduct + w * w * routed * baseline,
  };
}

export function sumsOf(samples: readonly { routed: number; baseline: number }[]): JudgeSums {
  return samples.reduce((s, x) => addSample(s, x.routed, x.baseline), EMPTY_SUMS);
}

export interface RatioEstimate {
  /** S_r / S_b. */
  ratio: number;
  /** Delta-method variance of the ratio: n/(n−1) · (S_rr − 2R·S_rb + R²·S_bb) / S_b²; Infinity below 2 samples. */
  variance: number;
}

/** ADR 10's ratio estimator and its delta-method variance (weighted sums give the linearised IPS variance). */
export function ratioEstimate(s: JudgeSums): RatioEstimate {
  if (s.n === 0 || s.sumBaseline <= 0) return { ratio: Number.NaN, variance: Number.POSITIVE_INFINITY };
  const ratio = s.sumRouted / s.sumBaseline;
  if (s.n < 2) return { ratio, variance: Number.POSITIVE_INFINITY };
  const q = s.sumRoutedSq - 2 * ratio * s.sumProduct + ratio * ratio * s.sumBaselineSq;
  const variance = ((s.n / (s.n - 1)) * Math.max(0, q)) / (s.sumBaseline * s.sumBaseline);
  return { ratio, variance };
}

/** Flip rates at or above this make the judge uninformative; estimates are capped here. */
export const MAX_FLIP_RATE = 0.45;

/**
 * Judge-noise correction. Model: each of the two position gradings swaps the two answers' grades with
 * probability f, so observed scores are r_obs = (1−f)·r + f·b and b_obs = (1−f)·b + f·r and every difference
 * between the sides shrinks by (1 − 2f). Inverting the mixture per sample,
 *
 *   r = a·r_obs − c·b_obs,  b = a·b_obs − c·r_obs,  a = (1−f)/(1−2f),  c = f/(1−2f),
 *
 * is linear, so it applies to the sums (squares and products as quadratic forms). The ratio's deficit 1 − R grows
 * by ≈ 1/(1−2f) and its variance by ≈ 1/(1−2f)²: the bound moves down and widens.
 */
export function unmixSums(s: JudgeSums, flipRate: number): JudgeSums {
  const f = Math.min(Math.max(flipRate, 0), MAX_FLIP_RATE);
  if (f === 0) return s;
  const a = (1 - f) / (1 - 2 * f);
  const c = f / (1 - 2 * f);
  return {
    n: s.n,
    sumRouted: a * s.sumRouted - c * s.sumBaseline,
    sumBaseline: a * s.sumBaseline - c * s.sumRouted,
    sumRoutedSq: a * a * s.sumRoutedSq - 2 * a * c * s.sumProduct + c * c * s.sumBaselineSq,
    sumBaselineSq: a * a * s.sumBaselineSq - 2 * a * c * s.sumProduct + c * c * s.sumRoutedSq,
    sumProduct: (a * a + c * c) * s.sumProduct - a * c * (s.sumRoutedSq + s.sumBaselineSq),
  };
}

/** One-sided 95%. */
export const Z_95 = 1.6448536269514722;

/** Student-t quantile at the normal quantile z with df degrees of freedom (Cornish–Fisher, 2 terms). */
export function tQuantile(z: number, df: number): number {
  if (!Number.isFinite(df) || df <= 0) return z;
  const z3 = z * z * z;
  const z5 = z3 * z * z;
  return z + (z3 + z) / (4 * df) + (5 * z5 + 16 * z3 + 3 * z) / (96 * df * df);
}
