/**
 * Every configured budget's spend in its current period, as gauges (routewise_budget_spent_usd and
 * routewise_budget_limit_usd), refreshed on a timer with one read of the store, so the dashboard and the "budget
 * past 90%" alert see each budget whether or not this replica served it lately, and see a new period start.
 */
import type { RouterConfig } from "../config/types.js";
import type { RouterMetrics } from "../metrics/metrics.js";
import { configuredBudgets } from "../select/budget.js";
import type { StateStore } from "../state/types.js";

export const BUDGET_GAUGES_INTERVAL_MS = 30_000;

export interface BudgetGauges {
  /** Reads every budget's spend now and sets the gauges (a failed read leaves them as they were). */
  refresh(): Promise<void>;
  stop(): void;
}

export function startBudgetGauges(o: {
  store: Pick<StateStore, "readSpend">;
  metrics: RouterMetrics;
  config: () => RouterConfig | null;
  intervalMs?: number;
}): BudgetGauges {
  const refresh = async (): Promise<void> => {
    const config = o.config();
    if (!config) return;
    const budgets = configuredBudgets(config);
    const spent = await o.store.readSpend(budgets.map((b) => ({ ...b, period: b.budget.period }))).catch(() => null);
    if (spent === null) return;
    const { budgetSpent, budgetLimit } = o.metrics;
    budgetSpent.reset();
    budgetLimit.reset();
    budgets.forEach((b, i) => {
      budgetSpent.set({ scope: b.scope, name: b.name }, spent[i] ?? 0);
      budgetLimit.set({ scope: b.scope, name: b.name }, b.budget.usd);
    });
  };
  const timer = setInterval(() => void refresh(), o.intervalMs ?? BUDGET_GAUGES_INTERVAL_MS);
  timer.unref();
  return { refresh, stop: () => clearInterval(timer) };
}
