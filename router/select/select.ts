/**
 * Candidate selection: a pure function from (classification, request features, route, providers, health view,
 * random source) to an ordered list of providers to try and the reason, in three steps:
 * rank (rank.ts: capabilities, rules, objective) → balance (balance.ts) → order (order.ts: health, shadow).
 */
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import { balance } from "./balance.js";
import { explore } from "./explore.js";
import { orderByHealth, shadowOrder } from "./order.js";
import { rank, type Ranking } from "./rank.js";

export { tooLongForAll } from "./rank.js";
import { failure, type Arm, type SelectInput, type Selection, type SelectionFailure } from "./types.js";

export function select(input: SelectInput): Selection | SelectionFailure {
  const { route, providers } = input;
  const baseline = providers.get(route.baseline);
  if (!baseline) return failure(400, "route_misconfigured", null, `route ${route.name} has no baseline provider`);
  const ranking = rank(input, baseline);
  if ("ok" in ranking) return ranking;
  const { quality, baselineQuality } = ranking;

  const healthy = orderByHealth(balance(ranking.ranked, input), input.health);
  if (healthy.length === 0)
    return failure(429, "rate_limited", null, `every candidate of ${route.name} is at its rate or concurrency limit`);
  const { decided, order, propensity, explored } = explore(input, ranking, healthy);
  // A spent degrading budget overrides the rollout: the baseline answering a shadow route would spend the most.
  const arm =
    input.budget === "cheapest" ? "policy" : (input.rolloutArm ?? (route.rollout === "shadow" ? "baseline" : "policy"));
  const toBaseline = arm === "baseline";
  return {
    ok: true,
    arm,
    order: toBaseline ? shadowOrder(baseline, order) : order,
    decided,
    reason: decisionReason(route, arm, ranking),
    explanation: explain(input, ranking, { decided, arm, propensity, explored }),
    predictedQuality: quality(toBaseline ? baseline : decided),
    predict: quality,
    baselineQuality,
    baseline,
    propensity,
    explored,
    ...(input.segment === undefined ? {} : { segment: input.segment }),
  };
}

/** The bounded reason: the rollout's when it sends the request to the baseline, else the ranking's. */
function decisionReason(route: RouteConfig, arm: Arm, ranking: Ranking): string {
  if (arm === "policy") return ranking.reason;
  return route.rollout === "canary" ? "canary_baseline" : "shadow";
}

/** x-routewise-decision: rollout, exploration, the ranking's reason, the request's analysis, segment, propensity. */
function explain(
  input: SelectInput,
  ranking: Ranking,
  d: { decided: ProviderConfig; arm: Arm; propensity: number; explored: boolean },
): string {
  const { classification: c } = input;
  const retention = (ranking.quality(d.decided) / ranking.baselineQuality).toFixed(3);
  const details = `task=${c.task}; domain=${c.domain}; difficulty=${c.difficulty.toFixed(2)}; retention=${retention}${learningNote(input, ranking, d.decided)}; p=${formatPropensity(d.propensity)}`;
  return `${rolloutNote(input.route, d.arm, d.decided)}${d.explored ? "explore; " : ""}${ranking.explanation}; ${details}`;
}

/** `; segment=…` and, when the decided provider's eligibility came from the learned table, its bound and samples. */
function learningNote(input: SelectInput, ranking: Ranking, decided: ProviderConfig): string {
  if (input.segment === undefined) return "";
  const entry = ranking.learned(decided);
  const learned = entry ? `; learned(lower=${entry.lower.toFixed(3)}, n=${entry.samples})` : "";
  return `; segment=${input.segment}${learned}`;
}

/** A propensity as x-routewise-decision shows it: at most 4 decimals, `1` for certain decisions. */
export function formatPropensity(p: number): string {
  return String(Math.round(p * 1e4) / 1e4);
}

/** What x-routewise-decision says of the rollout: shadow or canary's baseline arm name the decided provider. */
function rolloutNote(route: RouteConfig, arm: Arm, decided: ProviderConfig): string {
  if (route.rollout === "canary")
    return arm === "baseline" ? `canary(arm=baseline; would=${decided.id}); ` : "canary(arm=policy); ";
  return arm === "baseline" ? `shadow(would=${decided.id}); ` : "";
}
