/**
 * Exploration (ADR 12): `route.learning.exploration` of the policy's decisions go to a uniformly random feasible
 * candidate, so models the policy never picks still get judged evidence. The draws come from the caller
 * (deterministic per request id), so selection stays pure. Every decision carries its propensity: the probability
 * that the policy with exploration chose that provider,
 *
 *   p(c) = (1 − ε)·[c = the policy's choice] + ε·[c feasible] / K,   K = number of feasible candidates.
 *
 * Feasible: capable, allowed by the matched rule, not saturated, within the cost cap, and with a closed circuit
 * (unless every circuit is open). A rule that pins providers is never explored: the user said where it goes.
 * Interchangeable providers (same model and price) are balanced before this, so the propensity is the one of the
 * provider chosen as balancing ordered them.
 */
import type { ProviderConfig } from "../config/types.js";
import { estimateCost, type Ranking } from "./rank.js";
import type { SelectInput } from "./types.js";

export interface Explored {
  decided: ProviderConfig;
  order: ProviderConfig[];
  propensity: number;
  explored: boolean;
}

export function explore(input: SelectInput, ranking: Ranking, healthy: ProviderConfig[]): Explored {
  const policy = healthy[0] as ProviderConfig;
  const share = input.route.learning?.exploration ?? 0;
  const draws = input.exploration;
  const feasible = explores(ranking, share, input) ? feasibleCandidates(input, healthy) : [];
  if (!draws || feasible.length === 0) return { decided: policy, order: healthy, propensity: 1, explored: false };
  const k = feasible.length;
  const decided = draws.u < share ? (feasible[Math.min(k - 1, Math.floor(draws.pick * k))] as ProviderConfig) : policy;
  const isPolicy = decided.id === policy.id;
  const propensity = (isPolicy ? 1 - share : 0) + (feasible.includes(decided) ? share / k : 0);
  const order = isPolicy ? healthy : [decided, ...healthy.filter((p) => p.id !== decided.id)];
  return { decided, order, propensity, explored: !isPolicy };
}

/** A rule's pin is the user saying where the request goes, a budget past degradeAt saving: never explored. */
function explores(ranking: Ranking, share: number, input: SelectInput): boolean {
  return !ranking.pinned && share > 0 && (input.budget ?? "normal") === "normal";
}

function feasibleCandidates(input: SelectInput, healthy: ProviderConfig[]): ProviderConfig[] {
  const cap = input.route.objective.maxCostPerRequestUSD;
  const closed = healthy.filter((p) => !input.health.isOpen(p.id));
  const pool = closed.length > 0 ? closed : healthy;
  return pool.filter((p) => cap === null || estimateCost(p, input.request) <= cap);
}
