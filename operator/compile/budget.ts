/** A budget as the CRDs spell it (on a ModelClientKey, a ModelRoute, a ModelGateway's team) → the config's. Pure. */
import type { BudgetConfig, BudgetPeriod } from "../../router/config/types.js";
import { CLIENT_KEY_DEFAULTS } from "./defaults.js";

/** The CRD shape (spec.budget, spec.teamBudgets[] without team); schema-valid. */
export interface BudgetSpec {
  usd: number;
  period: BudgetPeriod;
  onExhausted?: "degrade" | "reject";
  degradeAt?: number;
}

// One table for all three kinds: defaults.test.ts checks each kind's own table against its CRD.
const D = CLIENT_KEY_DEFAULTS;

export function compileBudget(b: BudgetSpec | undefined): BudgetConfig | null {
  if (!b) return null;
  return {
    usd: b.usd,
    period: b.period,
    onExhausted: b.onExhausted ?? D["spec.budget.onExhausted"],
    degradeAt: b.degradeAt ?? D["spec.budget.degradeAt"],
  };
}
