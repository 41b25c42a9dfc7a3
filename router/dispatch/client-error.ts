/**
 * What the client is told when no candidate answered: 503 state_unavailable when the shared state store was
 * unreachable under failurePolicy closed, 429 rate_limited when every candidate was at its limits across replicas
 * (the shared store refused a slot), 429 when every attempt made was rate-limited, 504 when the last
 * one timed out or the route's total timeout passed, 503 when no provider was available, the upstream's 4xx (with
 * its code) when it rejected the request or every candidate refused it as too long or with an unsupported
 * parameter, else 502 (and a never-sent 499 when the client went away, for the record's outcome).
 * Messages summarise the attempts (never with keys: every UpstreamError is redacted, see providers/shared/redact.ts).
 */
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import { HttpError } from "../openai/errors.js";
import type { UpstreamError } from "../providers/types.js";
import { failureReason, type AttemptFailure } from "./dispatch.js";

/** The error to answer, and the request's outcome for the record (a bounded label, never an upstream's code). */
export interface ClientFailure {
  error: HttpError;
  outcome: string;
}

export function clientError(
  route: RouteConfig,
  order: ProviderConfig[],
  result: { failures: AttemptFailure[]; fatal: UpstreamError | null; ended: "deadline" | "client_gone" | null },
): ClientFailure {
  const { failures, fatal } = result;
  if (fatal) return { error: rejected(order, failures, fatal), outcome: "upstream_rejected" };
  if (result.ended === "client_gone") {
    const error = new HttpError(499, "the client closed the connection", "invalid_request_error", "client_closed");
    return { error, outcome: "client_closed" };
  }
  const error = unanswered(route, failures, result.ended === "deadline");
  const tried = failures.filter((f) => f.kind !== "circuit_open");
  const outcome = tried.length > 0 && tried.every(isRerouted) ? "upstream_rejected" : (error.code ?? "upstream_error");
  return { error, outcome };
}

function unanswered(route: RouteConfig, failures: AttemptFailure[], deadline: boolean): HttpError {
  const summary = failures.map((f) => `${f.provider}: ${describe(f)}`).join("; ");
  if (deadline) {
    const message = `the route's total timeout (${route.timeouts.requestMs}ms) passed for ${route.name} (${failures.length} attempts: ${summary || "none"})`;
    return new HttpError(504, message, "api_error", "upstream_timeout");
  }
  const message = `all upstream attempts for ${route.name} failed (${failures.length}): ${summary || "no provider available"}`;
  const tried = failures.filter((f) => f.kind !== "circuit_open");
  const last = failures[failures.length - 1];
  const refused = storeRefusal(route, tried, last);
  if (refused) return refused;
  if (tried.length > 0) {
    // Rate-limited everywhere it could be tried (open circuits aside): 429 with the upstreams' retry-after.
    if (tried.every((f) => f.status === 429)) return rateLimited(message, tried);
    // Every candidate refused the request as it is (too long, a parameter): the last rejection, its code kept.
    if (last && tried.every(isRerouted)) return upstreamRejection(last, message);
  }
  return outage(message, failures);
}

/** Nobody answered for reasons of their own: 504 when the last attempt timed out, 503 when none was open. */
function outage(message: string, failures: AttemptFailure[]): HttpError {
  if (failures[failures.length - 1]?.kind === "timeout")
    return new HttpError(504, message, "api_error", "upstream_timeout");
  if (failures.length === 0 || failures.every((f) => f.kind === "circuit_open"))
    return new HttpError(503, message, "api_error", "upstream_unavailable");
  return new HttpError(502, message, "api_error", "upstream_error");
}

function isRerouted(f: AttemptFailure): boolean {
  return f.kind === "http" && f.rejection !== null && f.rejection !== "content_filter";
}

/** The upstream refused the request itself (a 4xx the retry policy returns): its status and code, no fallback. */
function rejected(order: ProviderConfig[], failures: AttemptFailure[], fatal: UpstreamError): HttpError {
  if (fatal.kind === "request") {
    return new HttpError(
      400,
      `the request could not be sent: ${fatal.message}`,
      "invalid_request_error",
      "invalid_request",
    );
  }
  const by = failures[failures.length - 1]?.provider ?? order[0]?.id ?? "";
  return upstreamRejection(
    { status: fatal.status, code: fatal.code, param: fatal.param },
    `upstream ${by} rejected the request: ${fatal.message}`,
  );
}

/** A 4xx with the upstream's code (when it is a plain identifier) and param. */
function upstreamRejection(f: Pick<AttemptFailure, "status" | "code" | "param">, message: string): HttpError {
  const code = f.code !== null && SAFE_CODE.test(f.code) ? f.code : "upstream_rejected";
  const param = f.param !== null && f.param.length <= 128 ? f.param : null;
  return new HttpError(f.status ?? 400, message, "invalid_request_error", code, param);
}

const SAFE_CODE = /^[A-Za-z0-9_.-]{1,64}$/;

/** What the shared state store refused (issue 17), if that is why nobody answered. */
function storeRefusal(route: RouteConfig, tried: AttemptFailure[], last: AttemptFailure | undefined): HttpError | null {
  if (last?.kind === "state_unavailable") return stateUnavailable(last);
  if (tried.length > 0 && tried.every((f) => f.kind === "saturated")) return atLimits(route, tried);
  return null;
}

/** failurePolicy closed and the shared store unreachable: 503, retry in a second. */
function stateUnavailable(f: AttemptFailure): HttpError {
  const message = `the router cannot check its limits: ${f.message}`;
  return new HttpError(503, message, "api_error", "state_unavailable").withHeaders({ "retry-after": "1" });
}

/**
 * Every candidate was at its limits across the gateway's replicas (selection's own refusal, from this replica's
 * view, is the same 429): retry when the first of them frees.
 */
function atLimits(route: RouteConfig, failures: AttemptFailure[]): HttpError {
  const message = `every candidate of ${route.name} is at its rate or concurrency limit`;
  return new HttpError(429, message, "rate_limit_error", "rate_limited").withHeaders({
    "retry-after": retryAfter(failures),
  });
}

function retryAfter(failures: AttemptFailure[]): string {
  const waits = failures.map((f) => f.retryAfterMs ?? 1000);
  return String(Math.max(1, Math.ceil(Math.min(...waits) / 1000)));
}

/** Every attempt was rate-limited: 429 with the shortest retry-after the upstreams asked for (≥ 1 s). */
function rateLimited(message: string, failures: AttemptFailure[]): HttpError {
  return new HttpError(429, message, "rate_limit_error", "upstream_rate_limited").withHeaders({
    "retry-after": retryAfter(failures),
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
