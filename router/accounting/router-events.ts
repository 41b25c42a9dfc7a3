/**
 * What happens to the router as a whole, outside any one request: configs loaded or refused, circuit breakers
 * opening and closing, decision-cache hits. With the request record, the only writer of the router's metrics.
 */
import type { Logger } from "pino";
import type { RouterConfig } from "../config/types.js";
import { initialiseRouteSeries, type RouterMetrics } from "../metrics/metrics.js";

export interface RouterEvents {
  configApplied: (config: RouterConfig) => void;
  configRejected: (err: Error) => void;
  circuitChanged: (providerId: string, open: boolean) => void;
  /** Decision-cache hooks for the classifiers. */
  classifierCache: { onCacheHit: () => void; onCacheMiss: () => void };
}

export function createRouterEvents(metrics: RouterMetrics, logger: Logger): RouterEvents {
  return {
    configApplied: (config) => {
      metrics.configInfo.reset();
      metrics.configInfo.set({ version: config.version, hash: config.hash }, 1);
      metrics.configReloads.inc({ outcome: "success" });
      initialiseRouteSeries(metrics, config);
      logger.info(
        { hash: config.hash, routes: config.routes.map((r) => r.name), providers: config.providers.length },
        "Loaded router config",
      );
    },
    configRejected: (err) => {
      metrics.configReloads.inc({ outcome: "invalid" });
      logger.error({ err: { message: err.message } }, "Rejected new router config; keeping the last good one");
    },
    circuitChanged: (providerId, open) => {
      metrics.circuitOpen.set({ provider: providerId }, open ? 1 : 0);
    },
    classifierCache: classifierCacheHooks(metrics),
  };
}

/** Decision-cache hit/miss counters for the classifiers. */
export function classifierCacheHooks(metrics: RouterMetrics) {
  return {
    onCacheHit: () => metrics.classifierCacheHits.inc(),
    onCacheMiss: () => metrics.classifierCacheMisses.inc(),
  };
}
