/**
 * `--workers N` without Redis (issue 18): every worker keeps its own provider limits in memory, so N workers would
 * let N× the configured limit through. Each worker enforces 1/N of every limit instead (rounded up; 0 stays
 * unlimited), so the pod as a whole keeps about the configured limit — the cluster primary hands connections out
 * round-robin. With Redis the limits are counted once for every worker and replica and are not divided.
 */
import type { ProviderLimits, RouterConfig } from "./types.js";

export function shareLimits(config: RouterConfig, workers: number): RouterConfig {
  if (workers <= 1) return config;
  const share = (n: number): number => (n === 0 ? 0 : Math.max(1, Math.ceil(n / workers)));
  const divide = (l: ProviderLimits): ProviderLimits => ({
    maxConcurrency: share(l.maxConcurrency),
    requestsPerMinute: share(l.requestsPerMinute),
    tokensPerMinute: share(l.tokensPerMinute),
  });
  return { ...config, providers: config.providers.map((p) => ({ ...p, limits: divide(p.limits) })) };
}
