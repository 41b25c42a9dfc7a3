/**
 * What happens to the router as a whole, outside any one request: configs loaded or refused, circuit breakers
 * opening and closing, decision-cache hits. With the request record, the only writer of the router's metrics.
 */
import type { Logger } from "pino";
import type { ProviderConfig, RouteConfig, RouterConfig } from "../config/types.js";
import type { RouterMetrics } from "../metrics/metrics.js";
import { configuredBudgets } from "../select/budget.js";

export interface RouterEvents {
  /** A config is in force; `unavailable` are its routes that cannot serve (route name → why). */
  configApplied: (config: RouterConfig, unavailable: ReadonlyMap<string, string>) => void;
  /** `waiting`: no config is in force yet (the router stays unready), rather than a last good one kept. */
  configRejected: (err: Error, waiting: boolean) => void;
  circuitChanged: (providerId: string, open: boolean) => void;
  /** Decision-cache hooks for the classifiers. */
  classifierCache: { onCacheHit: () => void; onCacheMiss: () => void };
}

export function createRouterEvents(metrics: RouterMetrics, logger: Logger): RouterEvents {
  const circuits = new Set<string>();
  return {
    configApplied: (config, unavailable) => {
      initialiseCircuits(metrics, circuits, config);
      metrics.configInfo.reset();
      metrics.configInfo.set({ version: config.version, hash: config.hash }, 1);
      metrics.configReloads.inc({ outcome: "success" });
      initialiseRouteSeries(metrics, config);
      initialiseBudgetSeries(metrics, config);
      metrics.routeAvailable.reset();
      // The route's target, so alerts compare measured retention per route; a route that left loses its series.
      metrics.routeObjectiveRetention.reset();
      for (const r of config.routes)
        metrics.routeObjectiveRetention.set({ route: r.name }, r.objective.minQualityRetention);
      for (const r of config.routes) metrics.routeAvailable.set({ route: r.name }, unavailable.has(r.name) ? 0 : 1);
      for (const [route, why] of unavailable)
        logger.error({ route, reason: why }, "Route unavailable: it answers 503 until a config fixes it");
      logger.info(
        { hash: config.hash, routes: config.routes.map((r) => r.name), providers: config.providers.length },
        "Loaded router config",
      );
    },
    configRejected: (err, waiting) => {
      metrics.configReloads.inc({ outcome: "invalid" });
      logger.error(
        { err: { message: err.message } },
        waiting
          ? "Rejected router config; not ready until a valid one arrives"
          : "Rejected new router config; keeping the last good one",
      );
    },
    circuitChanged: (providerId, open) => {
      metrics.circuitOpen.set({ provider: providerId }, open ? 1 : 0);
    },
    classifierCache: classifierCacheHooks(metrics),
  };
}

/**
 * routewise_circuit_open exists at 0 for every provider from the config load on (issue 15 #10), so dashboards and
 * alerts see the series before any circuit changes; a reload keeps the value of a provider that stays and drops
 * the series of one that left.
 */
function initialiseCircuits(metrics: RouterMetrics, known: Set<string>, config: RouterConfig): void {
  const ids = new Set(config.providers.map((p) => p.id));
  for (const id of known) {
    if (ids.has(id)) continue;
    metrics.circuitOpen.remove({ provider: id });
    known.delete(id);
  }
  for (const id of ids) {
    if (known.has(id)) continue;
    metrics.circuitOpen.set({ provider: id }, 0);
    known.add(id);
  }
}

/** Decision-cache hit/miss counters for the classifiers. */
export function classifierCacheHooks(metrics: RouterMetrics) {
  return {
    onCacheHit: () => metrics.classifierCacheHits.inc(),
    onCacheMiss: () => metrics.classifierCacheMisses.inc(),
  };
}

/**
 * Creates each route's counters at zero when a config loads, so the first request after a start or reload is
 * seen by rate() (a labelled counter otherwise appears only with its first increment).
 */
function initialiseRouteSeries(metrics: RouterMetrics, config: RouterConfig): void {
  const providers = new Map(config.providers.map((p) => [p.id, p]));
  for (const route of config.routes) {
    const labels = { route: route.name };
    metrics.qualityPoints.inc(labels, 0);
    metrics.baselineQualityPoints.inc(labels, 0);
    if (route.rollout === "shadow") metrics.projectedCost.inc(labels, 0);
    initialiseAnswerSeries(metrics, route, providers);
    for (const arm of routeArms(route)) {
      metrics.baselineCost.inc({ ...labels, arm }, 0);
      for (const c of route.candidates) {
        const p = providers.get(c.provider);
        if (!p) continue;
        metrics.requests.inc({ ...labels, provider: p.id, model: p.model, outcome: "success", arm }, 0);
        metrics.cost.inc({ ...labels, provider: p.id, model: p.model, arm }, 0);
      }
    }
  }
}

/**
 * The feedback (and, with evaluation, sample) counters of every model that can answer the route (its candidates
 * and baseline), at zero: Prometheus' increase() counts a series' first scrape as its start, so samples recorded
 * before it would be missing from the measured retention.
 */
function initialiseAnswerSeries(
  metrics: RouterMetrics,
  route: RouteConfig,
  providers: ReadonlyMap<string, ProviderConfig>,
): void {
  if (route.evaluation) metrics.evaluationCost.inc({ route: route.name }, 0);
  const ids = new Set([...route.candidates.map((c) => c.provider), route.baseline]);
  const models = new Set([...ids].flatMap((id) => providers.get(id)?.model ?? []));
  for (const model of models) {
    const labels = { route: route.name, model };
    metrics.feedback.inc(labels, 0);
    metrics.feedbackScore.inc(labels, 0);
    if (!route.evaluation) continue;
    metrics.evaluationSamples.inc(labels, 0);
    metrics.evaluationScoreProduct.inc(labels, 0);
    for (const side of ["routed", "baseline"]) {
      metrics.evaluationScore.inc({ ...labels, side }, 0);
      metrics.evaluationScoreSquared.inc({ ...labels, side }, 0);
    }
  }
}

/**
 * Spend per route, client key and team, and each configured budget's degraded and rejected counters, at zero from
 * the config load on (issue 17), like the route counters: rate() sees the first charge and the first refusal.
 */
function initialiseBudgetSeries(metrics: RouterMetrics, config: RouterConfig): void {
  const keys = config.clientKeys?.keys ?? [];
  const teams = new Set(keys.flatMap((k) => (k.team === null ? [] : [k.team])));
  for (const r of config.routes) metrics.spend.inc({ scope: "route", name: r.name }, 0);
  for (const k of keys) metrics.spend.inc({ scope: "key", name: k.name }, 0);
  for (const team of teams) metrics.spend.inc({ scope: "team", name: team }, 0);
  for (const { scope, name, budget } of configuredBudgets(config)) {
    metrics.budgetDegraded.inc({ scope, name, reason: "past_degrade_at" }, 0);
    if (budget.onExhausted === "degrade") metrics.budgetDegraded.inc({ scope, name, reason: "exhausted" }, 0);
    else for (const reason of ["exhausted", "estimate"]) metrics.budgetRejected.inc({ scope, name, reason }, 0);
  }
}

/** The arms a route's requests can take: enforce the policy's, shadow the baseline's, canary both. */
function routeArms(route: RouteConfig): ("policy" | "baseline")[] {
  if (route.rollout === "enforce") return ["policy"];
  return route.rollout === "shadow" ? ["baseline"] : ["policy", "baseline"];
}
