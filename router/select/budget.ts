/**
 * Budgets (issue 17), pure: what the spend of the budgets that apply to a request (its client key's, its key's
 * team's, its route's) says before it is dispatched. Each budget is judged on what its current period has spent
 * plus the request's estimated cost at the cheapest candidate that can serve it (the least it can cost):
 *
 *   spent + estimate > usd          exhausted: `reject` → 429 insufficient_quota; `degrade` → the cheapest
 *                                   candidate only (level `cheapest`)
 *   spent ≥ degradeAt · usd          past degradeAt (either mode): the cheapest candidate meeting the relaxed
 *                                   objective, minQualityRetention − RELAXED_RETENTION_MARGIN (level `relaxed`)
 *
 * The strictest budget wins: a rejection over `cheapest` over `relaxed`. Selection takes the level as a pure input.
 */
import type { BudgetConfig, ProviderConfig, RouterConfig } from "../config/types.js";
import { estimateCost, supports } from "./rank.js";
import type { RequestFeatures } from "./types.js";

export { RELAXED_RETENTION_MARGIN } from "./rank.js";

export type BudgetScope = "key" | "team" | "route";

/** normal: as the route decides; relaxed: the relaxed objective; cheapest: the cheapest candidate only. */
export type BudgetLevel = "normal" | "relaxed" | "cheapest";

export interface AppliedBudget {
  scope: BudgetScope;
  /** The client key's name, the team label or the route name. */
  name: string;
  budget: BudgetConfig;
  /** USD spent in the current period (across replicas with a shared store). */
  spent: number;
}

export interface BudgetVerdict {
  level: BudgetLevel;
  /** The budget that set the level (null at normal), and why. */
  degradedBy: { budget: AppliedBudget; reason: "past_degrade_at" | "exhausted" } | null;
  /** A `reject` budget the request does not fit in, and why (spent already, or not with its estimate). */
  rejectedBy: { budget: AppliedBudget; reason: "exhausted" | "estimate" } | null;
  /** The smallest USD left of the budgets that apply, before this request (0 when one is spent). */
  remaining: number;
}

export function judgeBudgets(applied: readonly AppliedBudget[], estimate: number): BudgetVerdict {
  const judged = applied.map((budget) => ({ budget, state: budgetState(budget, estimate) }));
  const over = judged.filter((j) => j.state === "exhausted" || j.state === "estimate");
  const rejecting = over.find((j) => j.budget.budget.onExhausted === "reject");
  const degrading = over.find((j) => j.budget.budget.onExhausted === "degrade");
  const past = judged.find((j) => j.state === "past_degrade_at");
  const degradedBy = degrading
    ? { budget: degrading.budget, reason: "exhausted" as const }
    : past
      ? { budget: past.budget, reason: "past_degrade_at" as const }
      : null;
  const remaining = Math.max(0, Math.min(...applied.map((b) => b.budget.usd - b.spent)));
  return {
    level: degrading ? "cheapest" : past ? "relaxed" : "normal",
    degradedBy,
    rejectedBy: rejecting
      ? { budget: rejecting.budget, reason: rejecting.state === "estimate" ? "estimate" : "exhausted" }
      : null,
    remaining: Number.isFinite(remaining) ? remaining : 0,
  };
}

/** exhausted: spent already; estimate: the request would not fit; past_degrade_at; else fits. */
function budgetState(b: AppliedBudget, estimate: number): "exhausted" | "estimate" | "past_degrade_at" | "fits" {
  const { usd, degradeAt } = b.budget;
  if (b.spent >= usd) return "exhausted";
  if (b.spent + estimate > usd) return "estimate";
  return b.spent >= degradeAt * usd ? "past_degrade_at" : "fits";
}

/**
 * The request's estimated cost (select's estimate: its prompt, and max_tokens or 256 output tokens) at the cheapest
 * of the providers that can serve it; 0 when none can (selection then refuses it anyway).
 */
export function cheapestEstimate(providers: readonly ProviderConfig[], request: RequestFeatures): number {
  const costs = providers.filter((p) => supports(p, request)).map((p) => estimateCost(p, request));
  return costs.length === 0 ? 0 : Math.min(...costs);
}

/** Every budget a config declares: its client keys', its teams', its routes'. */
export function configuredBudgets(config: RouterConfig): Omit<AppliedBudget, "spent">[] {
  const keys = config.clientKeys?.keys ?? [];
  return [
    ...keys.flatMap((k) => (k.budget ? [{ scope: "key" as const, name: k.name, budget: k.budget }] : [])),
    ...(config.clientKeys?.teams ?? []).map((t) => ({ scope: "team" as const, name: t.team, budget: t.budget })),
    ...config.routes.flatMap((r) => (r.budget ? [{ scope: "route" as const, name: r.name, budget: r.budget }] : [])),
  ];
}
