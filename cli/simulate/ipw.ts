/**
 * Off-policy estimates from logged decisions (inverse propensity weighting). Each logged request i was served by
 * provider a_i with probability p_i under the logging policy; a changed, deterministic policy would serve π(x_i).
 * Its weight is w_i = 1[π(x_i) = a_i] / p_i, so a request the new policy would send elsewhere weighs 0.
 *
 * - Horvitz–Thompson: Σ w_i y_i / n — unbiased whenever every p_i > 0 for the action π takes.
 * - Self-normalised (the headline): Σ w_i y_i / Σ w_i — slightly biased, much lower variance; its variance by the
 *   delta method is Σ w_i² (y_i − μ̂)² / (Σ w_i)², and the 95% interval is μ̂ ± 1.96·se.
 * - Retention is a ratio of weighted sums over the judged requests: R̂ = Σ w q / Σ w b (q the served answer's
 *   score, b the baseline's), Var ≈ Σ w² (q − R̂ b)² / (Σ w b)² (the same delta method as ADR 10's bound).
 * Assumptions: the logged propensities are the true ones; the logging policy gave the new policy's choice a positive
 * probability wherever it is taken (else those requests are invisible and the estimate is biased); a request's cost
 * and quality depend on the request and the provider only, not on what else was served.
 */

export interface LoggedDecision {
  /** Would the new policy serve the provider that was logged? */
  match: boolean;
  propensity: number;
  costUsd: number;
  baselineCostUsd: number | null;
  /** Judge scores of the served and the baseline answer, when the request was judged. */
  judged: { routed: number; baseline: number } | null;
  /** User feedback in [0,1], when given. */
  feedback: number | null;
}

export interface Estimate {
  value: number;
  se: number;
  low: number;
  high: number;
}

export interface IpwReport {
  n: number;
  matched: number;
  /** (Σw)² / Σw²: how many requests the estimate is worth. */
  effectiveSampleSize: number;
  cost: Estimate | null;
  costHorvitzThompson: number | null;
  baselineCostUsd: number | null;
  savings: Estimate | null;
  retention: Estimate | null;
  judged: number;
  feedback: Estimate | null;
  /** The logging policy's own unweighted numbers, for comparison. */
  logged: { costUsd: number; retention: number | null; feedback: number | null };
}

const Z95 = 1.96;
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const weight = (d: LoggedDecision): number => (d.match ? 1 / d.propensity : 0);

function interval(value: number, variance: number): Estimate {
  const se = Math.sqrt(Math.max(0, variance));
  return { value, se, low: value - Z95 * se, high: value + Z95 * se };
}

/** Self-normalised IPW mean of y over the rows (null when no row has weight). */
export function snipw(rows: readonly LoggedDecision[], y: (d: LoggedDecision) => number): Estimate | null {
  const w = rows.map(weight);
  const sw = sum(w);
  if (sw <= 0) return null;
  const mu = sum(rows.map((d, i) => (w[i] ?? 0) * y(d))) / sw;
  const v = sum(rows.map((d, i) => (w[i] ?? 0) ** 2 * (y(d) - mu) ** 2)) / sw ** 2;
  return interval(mu, v);
}

export function horvitzThompson(rows: readonly LoggedDecision[], y: (d: LoggedDecision) => number): number | null {
  if (rows.length === 0) return null;
  return sum(rows.map((d) => weight(d) * y(d))) / rows.length;
}

/** R̂ = Σ w q / Σ w b over the judged rows. */
export function ratioIpw(rows: readonly LoggedDecision[]): Estimate | null {
  const judged = rows.flatMap((d) => (d.judged ? [{ w: weight(d), ...d.judged }] : []));
  const den = sum(judged.map((j) => j.w * j.baseline));
  if (den <= 0) return null;
  const r = sum(judged.map((j) => j.w * j.routed)) / den;
  const v = sum(judged.map((j) => j.w ** 2 * (j.routed - r * j.baseline) ** 2)) / den ** 2;
  return interval(r, v);
}

function meanOrNull(xs: readonly number[]): number | null {
  return xs.length > 0 ? sum(xs) / xs.length : null;
}

function loggedView(rows: readonly LoggedDecision[]): IpwReport["logged"] {
  const judged = rows.flatMap((d) => (d.judged ? [d.judged] : []));
  const base = sum(judged.map((j) => j.baseline));
  return {
    costUsd: meanOrNull(rows.map((d) => d.costUsd)) ?? 0,
    retention: base > 0 ? sum(judged.map((j) => j.routed)) / base : null,
    feedback: meanOrNull(rows.flatMap((d) => (d.feedback === null ? [] : [d.feedback]))),
  };
}

/** Savings vs always-baseline: 1 − cost / mean baseline cost (the baseline mean is over every logged request). */
function savingsOf(cost: Estimate | null, baselineCostUsd: number | null): Estimate | null {
  if (!cost || baselineCostUsd === null || baselineCostUsd <= 0) return null;
  return interval(1 - cost.value / baselineCostUsd, (cost.se / baselineCostUsd) ** 2);
}

export function estimatePolicy(rows: readonly LoggedDecision[]): IpwReport {
  const w = rows.map(weight);
  const sw = sum(w);
  const sw2 = sum(w.map((x) => x * x));
  const cost = snipw(rows, (d) => d.costUsd);
  const baselines = rows.flatMap((d) => (d.baselineCostUsd === null ? [] : [d.baselineCostUsd]));
  const baselineCostUsd = baselines.length === rows.length ? meanOrNull(baselines) : null;
  const withFeedback = rows.filter((d) => d.feedback !== null);
  return {
    n: rows.length,
    matched: rows.filter((d) => d.match).length,
    effectiveSampleSize: sw2 > 0 ? sw ** 2 / sw2 : 0,
    cost,
    costHorvitzThompson: horvitzThompson(rows, (d) => d.costUsd),
    baselineCostUsd,
    savings: savingsOf(cost, baselineCostUsd),
    retention: ratioIpw(rows),
    judged: rows.filter((d) => d.judged !== null).length,
    feedback: snipw(withFeedback, (d) => d.feedback ?? 0),
    logged: loggedView(rows),
  };
}
