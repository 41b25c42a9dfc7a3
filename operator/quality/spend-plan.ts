/**
 * Which routes and client keys this controller reports spend for (those with a budget whose first parent is one of
 * its gateways: it writes their top-level status), and the status.budget each gets from the latest read. Pure.
 */
import type { ModelClientKey, ModelRoute } from "../api/v1alpha1/types.js";
import { refKey, type ParentRef } from "../compile/attachment.js";
import { compileBudget } from "../compile/budget.js";
import { objectKey } from "../compile/problems.js";
import { budgetStatus, type BudgetStatus, type SpendTarget } from "./spend.js";
import type { SpendSnapshot } from "./spend-reader.js";

export interface SpendPlanInput {
  routes: readonly ModelRoute[];
  clientKeys: readonly ModelClientKey[];
  /** Parents by object key (routes and keys). */
  parents: ReadonlyMap<string, ParentRef[]>;
  /** This controller's gateways (namespace/name). */
  mine: ReadonlySet<string>;
  snapshot: SpendSnapshot;
  now: Date;
}

export function spendPlan(i: SpendPlanInput): { targets: SpendTarget[]; budgets: Map<string, BudgetStatus> } {
  const targets: SpendTarget[] = [];
  const budgets = new Map<string, BudgetStatus>();
  const consider = (o: ModelRoute | ModelClientKey, scope: SpendTarget["scope"], name: string): void => {
    const budget = compileBudget(o.spec.budget);
    const key = objectKey({ kind: o.kind, namespace: o.metadata.namespace ?? "default", name: o.metadata.name });
    const first = i.parents.get(key)?.[0];
    if (!budget || !first || !i.mine.has(refKey(first))) return;
    targets.push({ key, scope, name, namespace: first.namespace, period: budget.period });
    budgets.set(key, budgetStatus(budget, i.snapshot.readings.get(key), i.now));
  };
  for (const r of i.routes) consider(r, "route", r.spec.modelName);
  for (const k of i.clientKeys) consider(k, "key", `${k.metadata.namespace ?? "default"}/${k.metadata.name}`);
  return { targets, budgets };
}
