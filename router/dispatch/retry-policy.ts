/**
 * The one retry policy: what a failed upstream attempt means for the request. Dispatch asks it after every
 * failure; nothing else decides retries, fallbacks or which failures count against a provider's circuit breaker.
 */
import type { RouteConfig } from "../config/types.js";
import type { UpstreamError } from "../providers/types.js";

/**
 * - `retry`: try the same provider again after a backoff (then fall back once the route's attempts are spent)
 * - `next`: fall back to the next candidate at once
 * - `reject`: the upstream says the request itself is bad; return its rejection to the client, try nobody else
 * - `stop`: the request is over (the client went away or its total timeout passed)
 */
export type FailureAction = "retry" | "next" | "reject" | "stop";

/** Upstream 4xx statuses that are not about the request itself (auth, timeout, rate limit): fall back. */
const PROVIDER_SIDE_4XX = new Set([401, 403, 408, 429]);

export function failureAction(e: UpstreamError, retryOn: RouteConfig["retry"]["retryOn"]): FailureAction {
  if (e.kind === "aborted") return "stop";
  if (e.kind === "request") return "reject";
  if (e.kind === "malformed" || e.kind === "internal") return "next";
  if (e.kind !== "http") return "retry"; // connect, timeout, reset
  if (e.status === null) return "next";
  if (e.status >= 400 && e.status < 500 && !PROVIDER_SIDE_4XX.has(e.status)) return "reject";
  return retryOn.includes(e.status) ? "retry" : "next";
}

/**
 * Whether the failure counts against the provider's circuit breaker: only when the provider misbehaved, never
 * for what the request caused (a rejection, a request that cannot be encoded), the router itself (`internal`) or a
 * rate limit (429).
 */
export function countsAgainstProvider(e: UpstreamError, action: FailureAction): boolean {
  if (e.kind === "internal") return false;
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
