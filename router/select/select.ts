/**
 * Candidate selection: a pure function from (classification, request features, route, providers, health view,
 * random source) to an ordered list of providers to try and the reason, in three steps:
 * rank (rank.ts: capabilities, rules, objective) → balance (balance.ts) → order (order.ts: health, shadow).
 */
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import { balance } from "./balance.js";
import { orderByHealth, shadowOrder } from "./order.js";
import { rank } from "./rank.js";

export { tooLongForAll } from "./rank.js";
import { failure, type Arm, type SelectInput, type Selection, type SelectionFailure } from "./types.js";

export function select(input: SelectInput): Selection | SelectionFailure {
  const { route, providers, classification } = input;
  const baseline = providers.get(route.baseline);
  if (!baseline) return failure(400, "route_misconfigured", null, `route ${route.name} has no baseline provider`);
  const ranking = rank(input, baseline);
  if ("ok" in ranking) return ranking;
  const { quality, baselineQuality } = ranking;

  const healthy = orderByHealth(balance(ranking.ranked, input), input.health);
  if (healthy.length === 0)
    return failure(429, "rate_limited", null, `every candidate of ${route.name} is at its rate or concurrency limit`);
  const decided = healthy[0] as ProviderConfig;
  const details = `task=${classification.task}; domain=${classification.domain}; difficulty=${classification.difficulty.toFixed(2)}; retention=${(quality(decided) / baselineQuality).toFixed(3)}`;
  const arm = input.rolloutArm ?? (route.rollout === "shadow" ? "baseline" : "policy");
  const toBaseline = arm === "baseline";
  return {
    ok: true,
    arm,
    order: toBaseline ? shadowOrder(baseline, healthy) : healthy,
    decided,
    reason: toBaseline ? (route.rollout === "canary" ? "canary_baseline" : "shadow") : ranking.reason,
    explanation: `${rolloutNote(route, arm, decided)}${ranking.explanation}; ${details}`,
    predictedQuality: quality(toBaseline ? baseline : decided),
    predict: quality,
    baselineQuality,
    baseline,
  };
}

/** What x-routewise-decision says of the rollout: shadow or canary's baseline arm name the decided provider. */
function rolloutNote(route: RouteConfig, arm: Arm, decided: ProviderConfig): string {
  if (route.rollout === "canary")
    return arm === "baseline" ? `canary(arm=baseline; would=${decided.id}); ` : "canary(arm=policy); ";
  return arm === "baseline" ? `shadow(would=${decided.id}); ` : "";
}
