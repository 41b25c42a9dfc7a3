/**
 * The shared state store's side of the record (issue 17): every call's latency, the calls it could not serve and
 * how they were handled, and the store becoming unreachable or reachable again (one log line each, never with a
 * password: the store reports the error's message only).
 */
import type { Logger } from "pino";
import type { RouterMetrics } from "../metrics/metrics.js";
import type { FailurePolicy, StateObserver } from "../state/types.js";

export function createStateObserver(metrics: RouterMetrics, logger: Logger, policy: FailurePolicy): StateObserver {
  metrics.stateUp.set({ store: "redis" }, 1);
  // The failures the policy can produce, at zero: rate() sees the first one.
  const refusedOrLocal = policy === "open" ? "local" : "refused";
  for (const operation of ["acquire", "read_spend"])
    metrics.stateErrors.inc({ operation, handling: refusedOrLocal }, 0);
  for (const operation of ["release", "tokens"]) metrics.stateErrors.inc({ operation, handling: "local" }, 0);
  metrics.stateErrors.inc({ operation: "charge", handling: "deferred" }, 0);
  return {
    latency: (operation, seconds) => metrics.stateDuration.observe({ operation }, seconds),
    failed: (operation, handling) => metrics.stateErrors.inc({ operation, handling }),
    availability: (up, reason) => {
      metrics.stateUp.set({ store: "redis" }, up ? 1 : 0);
      if (up)
        logger.info({ store: "redis" }, "Reconnected to the shared state store: limits and budgets are global again");
      else
        logger.error(
          { store: "redis", failurePolicy: policy, reason },
          policy === "open"
            ? "Lost the shared state store: limits and budgets are per replica until it answers"
            : "Lost the shared state store: requests that need it answer 503 state_unavailable until it answers",
        );
    },
  };
}
