/**
 * Budgets at admission (issue 17): which budgets apply to a request (its client key's, the key's team's, its
 * route's), their spend read from the state store — started before classification, so the round trip overlaps it —
 * and what they say (select/budget.ts): 429 insufficient_quota until the period resets, or the level selection
 * takes. The request record charges the real cost once the request has answered.
 */
import type { RequestRecord } from "../accounting/request-record.js";
import type { Snapshot } from "../config/snapshot.js";
import type { BudgetConfig, ClientKeyConfig, RouteConfig, RouterConfig } from "../config/types.js";
import { HttpError } from "../openai/errors.js";
import { judgeBudgets, type AppliedBudget, type BudgetVerdict } from "../select/budget.js";
import { currentPeriod } from "../state/periods.js";
import { StateUnavailableError, type BudgetScope, type StateStore } from "../state/types.js";
import type { Principal } from "./auth.js";
import { formatUSD } from "./headers.js";

export const BUDGET_REMAINING_HEADER = "x-routewise-budget-remaining-usd";

/** The budgets of a request, their spend being read. */
export interface PendingBudgets {
  budgets: Omit<AppliedBudget, "spent">[];
  /** Settles, never rejects: the spend in order, or the store's error. */
  spend: Promise<number[] | Error>;
}

/** What the budgets said, for the answer's x-routewise-budget-remaining-usd. */
export interface BudgetAdmission {
  verdict: BudgetVerdict;
}

/** Client keys by name, per config. */
const keyIndexes = new WeakMap<RouterConfig, Map<string, ClientKeyConfig>>();

function keyOf(config: RouterConfig, name: string): ClientKeyConfig | undefined {
  let index = keyIndexes.get(config);
  if (!index) {
    index = new Map((config.clientKeys?.keys ?? []).map((k) => [k.name, k]));
    keyIndexes.set(config, index);
  }
  return index.get(name);
}

/**
 * Who pays for the request (told to its record) and the budgets that apply, their spend read at once. Null when
 * no budget applies: the store is not asked.
 */
export function startBudgets(
  store: Pick<StateStore, "readSpend">,
  snap: Snapshot,
  principal: Principal | null,
  route: RouteConfig,
  record: RequestRecord,
): PendingBudgets | null {
  const key = principal ? keyOf(snap.config, principal.name) : undefined;
  const team = key?.team ?? null;
  const payers: { scope: BudgetScope; name: string }[] = [{ scope: "route", name: route.name }];
  if (principal) payers.push({ scope: "key", name: principal.name });
  if (team !== null) payers.push({ scope: "team", name: team });
  const budgets = applicableBudgets(snap.config, key, route);
  const counters = budgets.map((b) => ({ scope: b.scope, name: b.name, period: b.budget.period }));
  record.paidBy({ payers, counters });
  if (budgets.length === 0) return null;
  const spend = store
    .readSpend(counters)
    .catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
  return { budgets, spend };
}

/** The key's budget, its team's, the route's: those that exist. */
function applicableBudgets(
  config: RouterConfig,
  key: ClientKeyConfig | undefined,
  route: RouteConfig,
): Omit<AppliedBudget, "spent">[] {
  const out: Omit<AppliedBudget, "spent">[] = [];
  if (key?.budget) out.push({ scope: "key", name: key.name, budget: key.budget });
  const team = key ? teamBudget(config, key.team) : null;
  if (team) out.push({ scope: "team", ...team });
  if (route.budget) out.push({ scope: "route", name: route.name, budget: route.budget });
  return out;
}

function teamBudget(config: RouterConfig, team: string | null): { name: string; budget: BudgetConfig } | null {
  const budget = team === null ? undefined : config.clientKeys?.teams.find((t) => t.team === team)?.budget;
  return team !== null && budget ? { name: team, budget } : null;
}

/**
 * Waits for the spend and judges the request at its estimated cost: the level for selection, or the client's
 * error (429 insufficient_quota; 503 state_unavailable when the store is unreachable under failurePolicy closed).
 */
export async function judgeRequest(
  pending: PendingBudgets,
  estimate: number,
  o: { record: RequestRecord; now: number },
): Promise<BudgetAdmission> {
  const spent = await pending.spend;
  if (spent instanceof StateUnavailableError) {
    throw new HttpError(503, spent.message, "api_error", "state_unavailable").withHeaders({ "retry-after": "1" });
  }
  if (spent instanceof Error) throw spent;
  const applied = pending.budgets.map((b, i) => ({ ...b, spent: spent[i] ?? 0 }));
  const verdict = judgeBudgets(applied, estimate);
  o.record.budgetJudged(applied, verdict);
  if (verdict.rejectedBy) throw insufficientQuota(verdict, estimate, o.now);
  return { verdict };
}

/** OpenAI's answer to a spent quota, with retry-after = seconds until the budget's period resets. */
function insufficientQuota(verdict: BudgetVerdict, estimate: number, now: number): HttpError {
  const rejected = verdict.rejectedBy;
  if (!rejected) throw new Error("insufficientQuota without a rejecting budget");
  const { scope, name, budget, spent } = rejected.budget;
  const period = currentPeriod(budget.period, now);
  const what = `the ${scope} budget of ${name} ($${formatUSD(budget.usd)} per ${budget.period})`;
  const why =
    rejected.reason === "exhausted"
      ? `${what} is spent ($${formatUSD(spent)} this ${budget.period})`
      : `this request (estimated $${formatUSD(estimate)}) does not fit in what is left of ${what}: $${formatUSD(Math.max(0, budget.usd - spent))}`;
  const message = `${why}; it resets at ${new Date(period.end).toISOString()}`;
  return new HttpError(429, message, "insufficient_quota", "insufficient_quota").withHeaders({
    "retry-after": String(Math.max(1, Math.ceil((period.end - now) / 1000))),
    [BUDGET_REMAINING_HEADER]: formatUSD(verdict.remaining),
  });
}

/** The smallest USD left of the budgets that apply, after this request's cost. */
export function remainingAfter(admission: BudgetAdmission, cost: number): string {
  return formatUSD(Math.max(0, admission.verdict.remaining - cost));
}
