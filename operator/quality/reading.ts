/**
 * One read of the quality rules for a gateway's routes: the instant queries, then (pure) the values of each route
 * picked out of the results.
 */
import type { PrometheusClient, VectorSample } from "./prometheus.js";
import { qualityQueries, QUALITY_RULES, type QualityRule } from "./rules.js";

/** A programmed route whose quality the operator reads. */
export interface QualityTarget {
  /** The ModelRoute's key (ModelRoute/namespace/name). */
  key: string;
  /** The model name served (the metrics' `route` label). */
  route: string;
  /** The gateway's namespace: where its routers run (the scrape's `namespace` label, when there is one). */
  namespace: string;
  /** Effectively shadow: savings are projected, not measured. */
  shadow: boolean;
  /** learning.window of a route that learns (and judges), else null: its evidence is read too (ADR 12). */
  learningWindow?: number | null;
}

/** What Prometheus says about one route; null fields have no series. */
export interface RouteReading {
  samples: number | null;
  retention: number | null;
  lowerBound: number | null;
  savings: { ratio: number; usdPerHour: number | null; basis: "measured" | "projected" } | null;
}

export type RuleSamples = Record<QualityRule, VectorSample[]>;

/** Runs the queries for the targets (in parallel); rejects with the first failure. */
export async function queryRules(client: PrometheusClient, targets: readonly QualityTarget[]): Promise<RuleSamples> {
  const queries = qualityQueries(targets.map((t) => t.route));
  const rules = Object.keys(QUALITY_RULES) as QualityRule[];
  const results = await Promise.all(rules.map((r) => client.query(queries[r])));
  return Object.fromEntries(rules.map((r, i) => [r, results[i] ?? []])) as RuleSamples;
}

/** Each target's reading out of the rules' samples. */
export function readingsFrom(samples: RuleSamples, targets: readonly QualityTarget[]): Map<string, RouteReading> {
  return new Map(targets.map((t) => [t.key, readingOf(samples, t)]));
}

function readingOf(s: RuleSamples, t: QualityTarget): RouteReading {
  const v = (rule: QualityRule): number | null => valueFor(s[rule], t);
  const ratio = v(t.shadow ? "projectedSavingsRatio" : "savingsRatio");
  const usd = v(t.shadow ? "projectedSavedUsdPerHour" : "savedUsdPerHour");
  return {
    samples: v("samples"),
    retention: v("retention"),
    lowerBound: v("lowerBound"),
    savings: ratio === null ? null : { ratio, usdPerHour: usd, basis: t.shadow ? "projected" : "measured" },
  };
}

/**
 * The target's value in a rule's samples: the series with its route and its gateway's namespace, else one with
 * its route and no namespace label (a Prometheus that adds none). Series of equal route names in other namespaces
 * (another gateway's routers) are not this route's. Non-finite values count as no value.
 */
export function valueFor(
  samples: readonly VectorSample[],
  t: Pick<QualityTarget, "route" | "namespace">,
): number | null {
  const mine = samples.filter((x) => x.labels["route"] === t.route);
  const hit =
    mine.find((x) => x.labels["namespace"] === t.namespace) ?? mine.find((x) => x.labels["namespace"] === undefined);
  return hit !== undefined && Number.isFinite(hit.value) ? hit.value : null;
}
