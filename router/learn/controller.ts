/**
 * The SLO controller (ADR 12): per route, the cheapest threshold on predicted (declared) retention whose retention
 * lower confidence bound, re-estimated for that threshold from the judged labels of a sliding window, clears the
 * objective — not a PI controller on the point estimate.
 *
 * Policy π_t: the cheapest candidate whose predicted retention is ≥ t (none: the strongest). For every t the
 * retention of π_t is estimated from the window by inverse propensity weighting: a label counts with weight
 * w = 1/propensity when the provider judged is the one π_t would choose for that request, else 0, and
 *
 *   R(t) = Σ w·r / Σ w·b,   Var R(t) ≈ n/(n−1) · Σ w²·(r − R·b)² / (Σ w·b)²   (n = every label in the window)
 *
 * is the delta-method ratio of ADR 10 on weighted sums, after unmixing the judge's flips (sums.ts). It is unbiased
 * wherever the logging policy could have chosen π_t's candidate: exploration (propensity > 0 for every feasible
 * candidate) gives it support for thresholds the router is not running. Without exploration only the requests on
 * which the running policy and π_t agree are seen, which favours thresholds near the running one.
 *
 * Cost is full-information: every label carries every candidate's estimated cost, so the savings of π_t are
 * 1 − Σ cost(π_t(x)) / Σ cost(baseline(x)) over the window.
 *
 * Support: the self-normalised ratio ignores the labels it has no match for, so a threshold that sends labels away
 * from the baseline none of which was judged on its choice would be estimated from the baseline's labels alone
 * (r = b: estimate = bound = 1). A threshold that sends any label away (`away` > 0) is therefore tested only with
 * at least minAwaySupport(objective) of those labels judged on its choice (`matchedAway`; operatingPoint); one that
 * sends nothing away is the baseline's and is tested as before.
 */
import { addSample, EMPTY_SUMS, ratioEstimate, unmixSums, Z_95, type JudgeSums } from "./sums.js";

export interface CandidateOption {
  provider: string;
  /** Predicted (declared) retention of this candidate on the request. */
  predicted: number;
  /** Estimated cost of the request on this candidate (any unit, the same for all). */
  cost: number;
}

/** A judged request as the controller sees it (the access log's decision plus the judge's scores). */
export interface LoggedLabel {
  segment: string;
  /** The provider whose answer was judged (the routed side). */
  provider: string;
  routed: number;
  baseline: number;
  /** The feasible candidates of the request, the baseline among them. */
  options: readonly CandidateOption[];
  /** Probability that the logging policy (with exploration) chose `provider`. */
  propensity: number;
}

export interface ControllerInput {
  /** The window: the most recent labels (slidingWindow). */
  labels: readonly LoggedLabel[];
  objective: number;
  /** Provider id of the baseline (savings are relative to it). */
  baseline: string;
  /** The judge's flip rate (learner.ts estimateFlipRate). Default 0. */
  flipRate?: number;
}

export interface ControllerOptions {
  /** lcb (default): the bound must clear the objective; point: the estimate must (for comparison only). */
  mode?: "lcb" | "point";
  /** Normal quantile of the one-sided bound. Default 1.645 (95%). */
  z?: number;
  /** Candidate thresholds. Default 0.5, 0.505, …, 1. */
  thresholds?: readonly number[];
  /** Objectives below the route's at which savings are reported too. Default [0.01, 0.02] below. */
  below?: readonly number[];
  /** The matched away labels an away-threshold needs (see minAwaySupport). Default minAwaySupport(objective). */
  minSupport?: (objective: number) => number;
}

export interface ThresholdEvaluation {
  threshold: number;
  /** Estimated retention of π_t (NaN when no label supports it). */
  estimate: number;
  /** Its one-sided lower bound (−Infinity without support). */
  lower: number;
  /** Labels whose judged provider is π_t's choice. */
  matched: number;
  /** Labels π_t sends away from the baseline, and of those the ones judged on π_t's choice. */
  away: number;
  matchedAway: number;
  /** 1 − cost(π_t) / cost(baseline). */
  savings: number;
}

export interface OperatingPoint {
  objective: number;
  threshold: number;
  /** Whether some threshold clears this objective; when not, threshold is the highest (baseline-like). */
  met: boolean;
  estimate: number;
  lower: number;
  savings: number;
}

export interface ControllerResult extends OperatingPoint {
  labels: number;
  /** Every candidate threshold's evaluation, ascending. */
  curve: ThresholdEvaluation[];
  /** At the objective, then at each objective in `below`: what status and routewise simulate show. */
  points: OperatingPoint[];
}

export const DEFAULT_THRESHOLDS: readonly number[] = Array.from({ length: 101 }, (_, i) => 0.5 + i / 200);
export const DEFAULT_BELOW: readonly number[] = [0.01, 0.02];

/** The floor of minAwaySupport: below it the delta-method variance of a handful of equal scores is 0. */
export const MIN_AWAY_LABELS = 10;

/**
 * The matched away labels a threshold that sends labels away from the baseline needs to pass at `objective`:
 * max(10, ⌈ln 0.05 / ln objective⌉) (≈ 3/(1 − objective), the rule of three: 59 at 0.95, 29 at 0.90, 299 at 0.99).
 * k away labels all judged as good as the baseline are, at 95%, still consistent with the away choice failing on
 * a share 1 − 0.05^(1/k) of them; k reaches the objective's allowed loss 1 − objective only from this count on, so
 * fewer cannot show the away choice keeps the objective even where the bound's variance says they do.
 */
export function minAwaySupport(objective: number): number {
  if (!(objective < 1)) return Number.POSITIVE_INFINITY;
  if (objective <= 0) return MIN_AWAY_LABELS;
  return Math.max(MIN_AWAY_LABELS, Math.ceil(Math.log(0.05) / Math.log(objective)));
}

/** Whether a threshold has the support to pass: it sends nothing away (the baseline), or enough away were judged. */
export function hasSupport(e: Pick<ThresholdEvaluation, "away" | "matchedAway">, minSupport: number): boolean {
  return e.away <= 0 || e.matchedAway >= minSupport;
}

/** The most recent `window` labels (drift makes a cumulative estimate lag). */
export function slidingWindow<T>(labels: readonly T[], window: number): T[] {
  return labels.slice(Math.max(0, labels.length - Math.max(0, Math.floor(window))));
}

/** π_t: the cheapest option predicted to keep t (ties: the stronger), else the strongest option. */
export function policyChoice(options: readonly CandidateOption[], threshold: number): CandidateOption | undefined {
  let best: CandidateOption | undefined;
  let strongest: CandidateOption | undefined;
  for (const o of options) {
    if (!strongest || o.predicted > strongest.predicted) strongest = o;
    if (o.predicted >= threshold - 1e-9 && (!best || cheaper(o, best))) best = o;
  }
  return best ?? strongest;
}

function cheaper(a: CandidateOption, b: CandidateOption): boolean {
  return a.cost < b.cost || (a.cost === b.cost && a.predicted > b.predicted);
}

export function evaluateThreshold(input: ControllerInput, threshold: number, z: number = Z_95): ThresholdEvaluation {
  return evaluateSums(tally(input, threshold), input.flipRate ?? 0, z);
}

/**
 * What one threshold's evaluation needs, as additive sums over the window: the inverse-propensity weighted judge
 * sums of the labels π_t agrees with (n = every label in the window), how many those are, and the cost of π_t and
 * of the baseline over every label. Sums of several replicas' or windows' labels add up, which is how the operator
 * reads them from Prometheus (router/learn/evidence.ts).
 */
export interface ThresholdSums {
  threshold: number;
  sums: JudgeSums;
  matched: number;
  /** Labels π_t sends away from the baseline, and of those the ones judged on π_t's choice. */
  away: number;
  matchedAway: number;
  cost: number;
  baselineCost: number;
}

/** A threshold's retention estimate and bound from its sums (judge flips unmixed first) and its savings. */
export function evaluateSums(t: ThresholdSums, flipRate: number, z: number = Z_95): ThresholdEvaluation {
  const { ratio, variance } = ratioEstimate(unmixSums(t.sums, flipRate));
  const supported = t.matched > 0 && Number.isFinite(ratio);
  return {
    threshold: t.threshold,
    estimate: supported ? ratio : Number.NaN,
    lower: supported ? ratio - z * Math.sqrt(variance) : Number.NEGATIVE_INFINITY,
    matched: t.matched,
    away: t.away,
    matchedAway: t.matchedAway,
    savings: t.baselineCost > 0 ? 1 - t.cost / t.baselineCost : 0,
  };
}

function tally(input: ControllerInput, threshold: number): ThresholdSums {
  const t: ThresholdSums = {
    threshold,
    sums: EMPTY_SUMS,
    matched: 0,
    away: 0,
    matchedAway: 0,
    cost: 0,
    baselineCost: 0,
  };
  for (const l of input.labels) {
    const { cost, weight: w, away } = contributionAt(l, input.baseline, threshold);
    if (w > 0) t.matched++;
    if (away) t.away++;
    if (away && w > 0) t.matchedAway++;
    t.cost += cost;
    t.baselineCost += baselineOption(l, input.baseline)?.cost ?? 0;
    t.sums = addSample(t.sums, l.routed, l.baseline, w);
  }
  return t;
}

/**
 * What one label adds at one threshold: π_t's cost, the weight of its judge sums (1/propensity when the judged
 * provider is π_t's choice, else 0), and whether π_t sends it away from the baseline.
 */
export function contributionAt(
  l: Pick<LoggedLabel, "provider" | "propensity" | "options">,
  baseline: string,
  threshold: number,
): { cost: number; weight: number; away: boolean } {
  const choice = policyChoice(l.options, threshold);
  const matches = choice?.provider === l.provider && l.propensity > 0;
  const away = choice !== undefined && choice.provider !== baseline;
  return { cost: choice?.cost ?? 0, weight: matches ? 1 / l.propensity : 0, away };
}

function baselineOption(l: LoggedLabel, baseline: string): CandidateOption | undefined {
  for (const o of l.options) if (o.provider === baseline) return o;
  return undefined;
}

/**
 * The cheapest threshold clearing `objective` on the curve, by fixed-sequence testing: thresholds are tested from
 * the highest down and testing stops at the first that fails, so a threshold is taken only when every higher one
 * clears too. A policy's retention falls as its threshold does, so this keeps the chance of running a threshold
 * below the objective at the bound's 5% despite testing many (taking the lowest that clears anywhere on a noisy
 * curve would not). Ties in savings: the higher threshold.
 *
 * A threshold that sends labels away without `minSupport` of them judged on its choice (hasSupport) is not tested:
 * it is never taken, and it does not end the sequence either (in either mode). Which thresholds have support
 * depends on the logging policy and exploration, not on the scores; stopping at them instead would stop at the
 * thresholds just under 1, which send only a few labels away and rarely have the support, and never move. When
 * no threshold that sends labels away has the support, nothing is met: the evidence says nothing about any cheaper
 * policy, and certifying the baseline (threshold 1) would also starve the cheaper choices of the running policy's
 * labels, leaving them only exploration's.
 */
export function operatingPoint(
  curve: readonly ThresholdEvaluation[],
  objective: number,
  mode: "lcb" | "point" = "lcb",
  minSupport: number = minAwaySupport(objective),
): OperatingPoint {
  const score = (e: ThresholdEvaluation): number => (mode === "lcb" ? e.lower : e.estimate);
  const descending = [...curve].sort((a, b) => b.threshold - a.threshold);
  const tested = descending.filter((e) => hasSupport(e, minSupport));
  const best = fixedSequence(tested, (e) => score(e) >= objective);
  const chosen = best ?? descending[0];
  if (!chosen) return { objective, threshold: 1, met: false, estimate: Number.NaN, lower: -Infinity, savings: 0 };
  const { threshold, estimate, lower, savings } = chosen;
  // Only thresholds that send nothing away tested: no evidence on any cheaper policy either way, so nothing is met
  // (the route keeps its objective, the declared behaviour) rather than the baseline being certified.
  const met = best !== undefined && tested.some((e) => e.away > 0);
  return { objective, threshold, met, estimate, lower, savings };
}

/** The most saving evaluation of the leading run that passes (thresholds descending). */
function fixedSequence(
  descending: readonly ThresholdEvaluation[],
  passes: (e: ThresholdEvaluation) => boolean,
): ThresholdEvaluation | undefined {
  let best: ThresholdEvaluation | undefined;
  for (const e of descending) {
    if (!passes(e)) break;
    if (!best || e.savings > best.savings) best = e;
  }
  return best;
}

/** The controller: the threshold to run, and the savings at the objective and at a point or two below it. */
export function controlThreshold(input: ControllerInput, options: ControllerOptions = {}): ControllerResult {
  const thresholds = [...(options.thresholds ?? DEFAULT_THRESHOLDS)].sort((a, b) => a - b);
  const sums = thresholds.map((t) => tally(input, t));
  return controlFromSums(sums, { objective: input.objective, flipRate: input.flipRate ?? 0 }, options);
}

/**
 * The controller on each threshold's sums (what Prometheus or a standalone router's window holds): the same
 * result controlThreshold gives on the labels behind them. `options.thresholds` is ignored: the sums say which.
 */
export function controlFromSums(
  thresholds: readonly ThresholdSums[],
  input: { objective: number; flipRate: number },
  options: Omit<ControllerOptions, "thresholds"> = {},
): ControllerResult {
  const mode = options.mode ?? "lcb";
  const ordered = [...thresholds].sort((a, b) => a.threshold - b.threshold);
  const curve = ordered.map((t) => evaluateSums(t, input.flipRate, options.z ?? Z_95));
  const objectives = [input.objective, ...(options.below ?? DEFAULT_BELOW).map((d) => input.objective - d)];
  const minSupport = options.minSupport ?? minAwaySupport;
  const points = objectives.map((o) => operatingPoint(curve, o, mode, minSupport(o)));
  const [first] = points as [OperatingPoint, ...OperatingPoint[]];
  return { ...first, labels: ordered[0]?.sums.n ?? 0, curve, points };
}

/**
 * Sizing evaluation as labels per window: the bound sits about z·σ/√n below the estimate, so a margin m needs
 * n = (z·σ/m)² labels (σ: a label's retention standard deviation, ≈ 0.15–0.3 for 1–10 judge scores).
 */
export function labelsForMargin(margin: number, sampleSd: number, z: number = Z_95): number {
  return Math.ceil(((z * sampleSd) / margin) ** 2);
}

/** The judge sample rate that fills a window of `labels` in `requestsPerWindow` requests (capped at 1). */
export function sampleRateFor(labels: number, requestsPerWindow: number): number {
  return requestsPerWindow <= 0 ? 1 : Math.min(1, labels / requestsPerWindow);
}
