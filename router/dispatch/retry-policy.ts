/**
 * The one retry policy: what a failed upstream attempt means for the request. Dispatch asks it after every
 * failure; nothing else decides retries, fallbacks or which failures count against a provider's circuit breaker.
 */
import type { RouteConfig } from "../config/types.js";
import type { UpstreamError } from "../providers/types.js";

/**
 * - `retry`: try the same provider again after a backoff (then fall back once the route's attempts are spent)
 * - `next`: fall back to the next candidate at once (timeouts; malformed answers; 401/403; 5xx outside retryOn;
 *   request-shaped rejections another candidate may accept)
 * - `reject`: the upstream says the request itself is bad; return its rejection to the client, try nobody else
 * - `stop`: the request is over (the client went away or its total timeout passed)
 */
export type FailureAction = "retry" | "next" | "reject" | "stop";

/** Upstream 4xx statuses that are not about the request itself (auth, timeout, rate limit): fall back. */
const PROVIDER_SIDE_4XX = new Set([401, 403, 408, 429]);

/** Request-shaped rejections another candidate may accept (a larger window, another parameter set). */
const REROUTED = new Set(["context_length", "max_tokens", "unsupported_parameter"]);

export function failureAction(e: UpstreamError, retryOn: RouteConfig["retry"]["retryOn"]): FailureAction {
  if (e.kind === "aborted") return "stop";
  if (e.kind === "request") return "reject";
  // A silent provider is not retried: the next candidate gets the remaining time (issue 15, failover contract).
  if (e.kind === "malformed" || e.kind === "internal" || e.kind === "timeout") return "next";
  if (e.kind !== "http") return "retry"; // connect, reset
  return httpAction(e, retryOn);
}

function httpAction(e: UpstreamError, retryOn: number[]): FailureAction {
  if (e.status === null) return "next";
  // A request-shaped 4xx: another candidate may take it (rerouted), else it is returned; never a content filter.
  if (e.status >= 400 && e.status < 500 && !PROVIDER_SIDE_4XX.has(e.status)) return isRerouted(e) ? "next" : "reject";
  return retryOn.includes(e.status) ? "retry" : "next";
}

/** A rejection the upstream attributes to the request that another candidate may accept. */
export function isRerouted(e: UpstreamError): boolean {
  return e.kind === "http" && e.rejection !== null && REROUTED.has(e.rejection);
}

/**
 * Whether the failure counts against the provider's circuit breaker: only when the provider misbehaved, never
 * for what the request caused (a rejection, rerouted or not; a request that cannot be encoded), the router itself
 * (`internal`) or a rate limit (429).
 */
export function countsAgainstProvider(e: UpstreamError, action: FailureAction): boolean {
  if (e.kind === "internal" || isRerouted(e)) return false;
  // A rate limit is the provider working as agreed, not an outage (issue 15 #9): retry-after says when to return.
  if (e.kind === "http" && e.status === 429) return false;
  return action === "retry" || action === "next";
}

/** Exponential backoff with full jitter; null when the upstream asks to wait longer than the cap. */
export function backoff(
  route: RouteConfig,
  attempt: number,
  retryAfterMs: number | null,
  random: number,
): number | null {
  const { backoffBaseMs, backoffMaxMs } = route.retry;
  if (retryAfterMs !== null && retryAfterMs > backoffMaxMs) return null;
  const exp = Math.min(backoffMaxMs, backoffBaseMs * 2 ** attempt);
  const jittered = exp / 2 + (random * exp) / 2;
  return Math.max(jittered, retryAfterMs ?? 0);
}
