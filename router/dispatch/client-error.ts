/**
 * What the client is told when no candidate answered: 429 when every attempt made was rate-limited, 504 when the last
 * one timed out or the route's total timeout passed, 503 when no provider was available, the upstream's 4xx when
 * it rejected the request, else 502 (and a never-sent 499 when the client went away, for the record's outcome).
 * Messages summarise the attempts (never with keys: every UpstreamError is redacted, see providers/shared/redact.ts).
 */
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import { HttpError } from "../openai/errors.js";
import type { UpstreamError } from "../providers/types.js";
import { failureReason, type AttemptFailure } from "./dispatch.js";

export function clientError(
  route: RouteConfig,
  order: ProviderConfig[],
  result: { failures: AttemptFailure[]; fatal: UpstreamError | null; ended: "deadline" | "client_gone" | null },
): HttpError {
  const { failures, fatal } = result;
  if (fatal) return rejected(order, fatal);
  if (result.ended === "client_gone")
    return new HttpError(499, "the client closed the connection", "invalid_request_error", "client_closed");
  const summary = failures.map((f) => `${f.provider}: ${describe(f)}`).join("; ");
  if (result.ended === "deadline") {
    const message = `the route's total timeout (${route.timeouts.requestMs}ms) passed for ${route.name} (${failures.length} attempts: ${summary || "none"})`;
    return new HttpError(504, message, "api_error", "upstream_timeout");
  }
  const message = `all upstream attempts for ${route.name} failed (${failures.length}): ${summary || "no provider available"}`;
  // Rate-limited everywhere it could be tried (open circuits aside): 429 with the upstreams' retry-after.
  const tried = failures.filter((f) => f.kind !== "circuit_open");
  if (tried.length > 0 && tried.every((f) => f.status === 429)) return rateLimited(message, tried);
  const last = failures[failures.length - 1];
  if (last?.kind === "timeout") return new HttpError(504, message, "api_error", "upstream_timeout");
  if (failures.length === 0 || failures.every((f) => f.kind === "circuit_open"))
    return new HttpError(503, message, "api_error", "upstream_unavailable");
  return new HttpError(502, message, "api_error", "upstream_error");
}

/** The upstream refused the request itself (a 4xx the retry policy returns): its status, no fallback. */
function rejected(order: ProviderConfig[], fatal: UpstreamError): HttpError {
  if (fatal.kind === "request") {
    return new HttpError(
      400,
      `the request could not be sent: ${fatal.message}`,
      "invalid_request_error",
      "invalid_request",
    );
  }
  return new HttpError(
    fatal.status ?? 400,
    `upstream ${order[0]?.id ?? ""} rejected the request: ${fatal.message}`,
    "invalid_request_error",
    "upstream_rejected",
  );
}

/** Every attempt was rate-limited: 429 with the shortest retry-after the upstreams asked for (≥ 1 s). */
function rateLimited(message: string, failures: AttemptFailure[]): HttpError {
  const waits = failures.map((f) => f.retryAfterMs ?? 1000);
  const retryAfter = String(Math.max(1, Math.ceil(Math.min(...waits) / 1000)));
  return new HttpError(429, message, "rate_limit_error", "upstream_rate_limited").withHeaders({
    "retry-after": retryAfter,
  });
}

/** The provider a failed request is counted against: the last one tried, else the first in the order. */
export function lastTried(
  order: ProviderConfig[],
  failures: AttemptFailure[],
  decided: ProviderConfig,
): ProviderConfig {
  const lastId = failures[failures.length - 1]?.provider;
  return order.find((p) => p.id === lastId) ?? order[0] ?? decided;
}

function describe(f: AttemptFailure): string {
  if (f.kind === "http") return `HTTP ${f.status ?? "?"} ${truncate(f.message, 160)}`;
  return `${failureReason(f)} ${truncate(f.message, 160)}`;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
