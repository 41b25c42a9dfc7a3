/**
 * Budget spend for status (issue 17): what each route and client key with a budget spent this period, read from
 * the routers' `routewise_spend_usd_total{scope, name}` counter in Prometheus as its increase since the period
 * began, and the status.budget it makes. The queries and the picking of values are pure; readSpend runs them.
 *
 * The routers enforce budgets from their own counters (in Redis when configured); this is the operator's report
 * of them, as exact as Prometheus' increase() over the period (its extrapolation at the window's end adds at most
 * one scrape interval's worth of the current spend rate).
 */
import { periodStart } from "../../router/config/budget-period.js";
import type { BudgetConfig, BudgetPeriod } from "../../router/config/types.js";
import type { PrometheusClient, VectorSample } from "./prometheus.js";

/** The counter the routers write (router/metrics): USD charged per budget scope and configured name. */
export const SPEND_METRIC = "routewise_spend_usd_total";

export type SpendScope = "key" | "team" | "route";

/** An object whose spend status.budget reports. */
export interface SpendTarget {
  /** The object's key (ModelClientKey/namespace/name, ModelRoute/namespace/name). */
  key: string;
  scope: SpendScope;
  /** The counter's `name` label: a key's `namespace/name`, a route's model name, a team. */
  name: string;
  /** The gateway's namespace: where its routers run (the scrape's `namespace` label, when there is one). */
  namespace: string;
  period: BudgetPeriod;
}

/** What the operator read for one target: spend since periodStart (0 when no router charged anything). */
export interface SpendReading {
  periodStart: string;
  spentUsd: number;
}

/** status.budget of a ModelClientKey or ModelRoute. */
export interface BudgetStatus {
  period: BudgetPeriod;
  periodStart: string;
  spentUsd?: number;
  remainingUsd?: number;
}

/** The instant query for one scope's spend over the `seconds` since a period began, per name and namespace. */
export function spendQuery(scope: SpendScope, seconds: number): string {
  return `sum by (name, namespace) (increase(${SPEND_METRIC}{scope="${scope}"}[${seconds}s]))`;
}

/** Runs one query per (scope, period) of the targets at `now`; rejects with the first failure. */
export async function readSpend(
  client: PrometheusClient,
  targets: readonly SpendTarget[],
  now: Date,
): Promise<Map<string, SpendReading>> {
  const groups = new Map<string, SpendTarget[]>();
  for (const t of targets) groups.set(`${t.scope}/${t.period}`, [...(groups.get(`${t.scope}/${t.period}`) ?? []), t]);
  const out = new Map<string, SpendReading>();
  await Promise.all(
    [...groups.values()].map(async (group) => {
      const first = group[0];
      if (!first) return;
      const start = periodStart(first.period, now);
      const seconds = Math.max(1, Math.ceil((now.getTime() - start.getTime()) / 1000));
      const samples = await client.query(spendQuery(first.scope, seconds));
      for (const t of group) out.set(t.key, { periodStart: start.toISOString(), spentUsd: spentOf(samples, t) });
    }),
  );
  return out;
}

/**
 * The target's spend in a query's samples: the series with its name and its gateway's namespace, else one with its
 * name and no namespace label; 0 when there is none (nothing charged) or it is not finite.
 */
export function spentOf(samples: readonly VectorSample[], t: Pick<SpendTarget, "name" | "namespace">): number {
  const mine = samples.filter((x) => x.labels["name"] === t.name);
  const hit =
    mine.find((x) => x.labels["namespace"] === t.namespace) ?? mine.find((x) => x.labels["namespace"] === undefined);
  return hit !== undefined && Number.isFinite(hit.value) ? Math.max(0, hit.value) : 0;
}

/**
 * status.budget: the current period, and its spend when a reading of this period exists (none: no Prometheus, or
 * not read yet since the period began). Amounts keep 3 significant digits, so a steady spend is not rewritten on
 * every read for the noise of increase().
 */
export function budgetStatus(budget: BudgetConfig, reading: SpendReading | undefined, now: Date): BudgetStatus {
  const start = periodStart(budget.period, now).toISOString();
  const base: BudgetStatus = { period: budget.period, periodStart: start };
  if (!reading || reading.periodStart !== start) return base;
  const spentUsd = significant(reading.spentUsd);
  return { ...base, spentUsd, remainingUsd: significant(Math.max(0, budget.usd - spentUsd)) };
}

/** `v` with 3 significant digits (0 stays 0). */
export function significant(v: number): number {
  if (v === 0 || !Number.isFinite(v)) return 0;
  return Number(v.toPrecision(3));
}
