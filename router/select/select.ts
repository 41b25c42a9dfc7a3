/**
 * Candidate selection: a pure function from (classification, request features, route, providers, health view,
 * random source) to an ordered list of providers to try and the reason, in three steps:
 * rank (rank.ts: capabilities, rules, objective) → balance (balance.ts) → order (order.ts: health, shadow).
 */
import type { ProviderConfig } from "../config/types.js";
import { balance } from "./balance.js";
import { orderByHealth, shadowOrder } from "./order.js";
import { rank } from "./rank.js";

export { tooLongForAll } from "./rank.js";
import { failure, type SelectInput, type Selection, type SelectionFailure } from "./types.js";

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
  const shadow = route.rollout === "shadow";
  return {
    ok: true,
    order: shadow ? shadowOrder(baseline, healthy) : healthy,
    decided,
    reason: shadow ? "shadow" : ranking.reason,
    explanation: `${shadow ? `shadow(would=${decided.id}); ` : ""}${ranking.explanation}; ${details}`,
    predictedQuality: quality(shadow ? baseline : decided),
    predict: quality,
    baselineQuality,
    baseline,
  };
}
