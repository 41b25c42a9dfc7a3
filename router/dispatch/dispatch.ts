/**
 * Dispatch: try the selected providers in order. After each failed attempt the retry policy (retry-policy.ts)
 * decides: retry on the same provider with exponential backoff (an upstream retry-after wins when longer; one
 * longer than the backoff cap moves on at once), fall back to the next provider, return the upstream's rejection,
 * or stop. Circuit breakers and limits are consulted before each attempt. A timed-out attempt falls back; a
 * rejection another candidate may accept because of its context window tries larger windows first. Streams
 * (stream.ts) are committed only once their first content chunk has arrived, so everything before it can be
 * retried. Every attempt is reported to the request record; dispatch writes no metric itself.
 */
import type { Attempt, AttemptObserver } from "../accounting/request-record.js";
import type { ProviderConfig, ProviderType, RouteConfig } from "../config/types.js";
import type { ChatCompletion, ChatRequest } from "../openai/types.js";
import { redactSecrets } from "../providers/shared/redact.js";
import type { CallSignal } from "../providers/shared/call-signal.js";
import { UpstreamError, type CallOptions, type ProviderAdapter, type Rejection } from "../providers/types.js";
import { abortCause, deadlinePassed, scopedSignal, type RequestLifetime, type ScopedSignal } from "./abort.js";
import { backoff, countsAgainstProvider, failureAction } from "./retry-policy.js";
import type { ProviderHealth } from "./health.js";
import { takeSlot, type Refused } from "./slots.js";
import type { StateStore } from "../state/types.js";

export interface DispatchDeps {
  adapters: Record<ProviderType, ProviderAdapter>;
  /** The API key for a credential key, or null. */
  credential: (key: string | null) => string | null;
  health: ProviderHealth;
  /** The shared state store (issue 17): with Redis, provider limits hold across replicas. Absent: per replica. */
  state?: StateStore | null;
  now: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  random: () => number;
}

/** One failed attempt, as reported to the client and logs (never with keys). */
export interface AttemptFailure {
  provider: string;
  /** saturated: refused a slot by the shared limits; state_unavailable: the store is unreachable (closed). */
  kind: UpstreamError["kind"] | "circuit_open" | Refused["kind"];
  status: number | null;
  retryAfterMs: number | null;
  message: string;
  /** The upstream's own code and param, and what its rejection means for routing. */
  code: string | null;
  param: string | null;
  rejection: Rejection | null;
}

export interface DispatchContext {
  route: RouteConfig;
  order: ProviderConfig[];
  request: ChatRequest;
  requestId: string;
  /** Ends when the client goes away or the route's total timeout passes. */
  lifetime: RequestLifetime;
  /**
   * The request record, told about every attempt, retry, fallback, first chunk and malformed event; each attempt
   * it opens carries the trace context forwarded upstream.
   */
  record: AttemptObserver;
}

/** What the attempt loop needs of a request (anything but its body, which only the attempt function sends). */
export type AttemptContext = Omit<DispatchContext, "request">;

export type DispatchResult<T> =
  | { ok: true; provider: ProviderConfig; value: T; failures: AttemptFailure[] }
  | {
      ok: false;
      failures: AttemptFailure[];
      fatal: UpstreamError | null;
      /** Set when the request itself ended first: its total timeout passed, or its client went away. */
      ended: "deadline" | "client_gone" | null;
    };

/**
 * One attempt on a provider. `scope` is the attempt's signal with its deadline timer (the attempt timeout when it
 * starts); the attempt may re-arm it, and owns it once it succeeds (a completion disposes it, a stream keeps it).
 * `attempt` is the record's: a success ends it (a completion at once, a stream when it ends), a failure is ended
 * by dispatch. `release` frees the attempt's slot under the provider's limits (idempotent): a completion calls it
 * when it returns, a stream when it ends; dispatch calls it after a failure.
 */
export type AttemptFn<T> = (
  provider: ProviderConfig,
  scope: ScopedSignal,
  attempt: Attempt,
  release: () => void,
) => Promise<T>;

export function dispatchCompletion(deps: DispatchDeps, ctx: DispatchContext): Promise<DispatchResult<ChatCompletion>> {
  return runAttempts(deps, ctx, completionAttempt(deps, ctx));
}

/** A non-streaming chat attempt. */
export function completionAttempt(deps: DispatchDeps, ctx: DispatchContext): AttemptFn<ChatCompletion> {
  return callAttempt(deps, ctx, async (provider, options) => {
    const result = await deps.adapters[provider.type].complete(provider, withModel(ctx.request, provider), options);
    return result.body;
  });
}

/**
 * An attempt that is one call (not a stream): the provider's in-flight slot held for the call, the attempt ended
 * as a success when it returns (a failure is ended by dispatch).
 */
export function callAttempt<T>(
  deps: DispatchDeps,
  ctx: AttemptContext,
  call: (provider: ProviderConfig, options: CallOptions) => Promise<T>,
): AttemptFn<T> {
  return async (provider, scope, attempt, release) => {
    try {
      const value = await call(provider, callOptions(deps, attempt, ctx, scope.signal));
      ctx.record.attemptEnded(attempt, "success");
      return value;
    } finally {
      scope.dispose();
      release();
    }
  };
}

export async function runAttempts<T>(
  deps: DispatchDeps,
  ctx: AttemptContext,
  attempt: AttemptFn<T>,
): Promise<DispatchResult<T>> {
  const { route } = ctx;
  const failures: AttemptFailure[] = [];
  const maxProviders = route.fallback.enabled ? route.fallback.maxProviders : 1;
  const tried = ctx.order.slice(0, maxProviders);
  for (let i = 0; i < tried.length; i++) {
    const provider = tried[i] as ProviderConfig;
    const outcome = await tryProvider(deps, ctx, provider, attempt, failures);
    if (outcome.ok) return { ok: true, provider, value: outcome.value, failures };
    if (outcome.fatal) return { ok: false, failures, fatal: outcome.fatal, ended: null };
    if (!moveOn(ctx, tried, i, failures[failures.length - 1])) break;
  }
  return { ok: false, failures, fatal: null, ended: abortCause(ctx.lifetime) };
}

/**
 * Between two candidates: after a context-length rejection larger windows first, and the fallback reported. False:
 * stop (the request is over, or the shared store is unreachable under failurePolicy closed: nothing is admitted).
 */
function moveOn(ctx: AttemptContext, tried: ProviderConfig[], i: number, last: AttemptFailure | undefined): boolean {
  if (last?.kind === "state_unavailable") return false;
  if (last?.rejection === "context_length") largerWindowsFirst(tried, i + 1);
  const [provider, next] = [tried[i], tried[i + 1]];
  if (provider && next && last) ctx.record.fellBack(ctx.route, provider, next, failureReason(last));
  return !ctx.lifetime.aborted;
}

/** After a context-length rejection: the remaining candidates, larger context windows first (stable). */
function largerWindowsFirst(tried: ProviderConfig[], from: number): void {
  const rest = tried.slice(from).sort((a, b) => b.contextWindow - a.contextWindow);
  tried.splice(from, rest.length, ...rest);
}

/** The providers a request fell back from: those that failed, but not the one that answered after retrying. */
export function fellBackFrom(answered: { provider: ProviderConfig; failures: AttemptFailure[] }): string[] {
  if (answered.failures.length === 0) return [];
  const ids = answered.failures.map((f) => f.provider).filter((id) => id !== answered.provider.id);
  return [...new Set(ids)];
}

type ProviderOutcome<T> = { ok: true; value: T } | { ok: false; fatal: UpstreamError | null };

const GIVE_UP = { ok: false, fatal: null } as const;

/** Attempts on one provider: as many as the route allows while the retry policy says retry. */
async function tryProvider<T>(
  deps: DispatchDeps,
  ctx: AttemptContext,
  provider: ProviderConfig,
  attempt: AttemptFn<T>,
  failures: AttemptFailure[],
): Promise<ProviderOutcome<T>> {
  for (let n = 0; n < ctx.route.retry.attempts; n++) {
    if (ctx.lifetime.aborted) return GIVE_UP;
    if (deps.health.isOpen(provider.id)) {
      failures.push(circuitOpen(provider));
      return GIVE_UP;
    }
    const slot = await takeSlot(deps, ctx.route, provider);
    if (!slot.granted) {
      failures.push(refusedSlot(provider, slot));
      return GIVE_UP; // like a saturated provider: the next candidate
    }
    const result = await attemptOnce(deps, ctx, provider, attempt, slot.release);
    if (result.ok) return result;
    const e = result.error;
    failures.push(attemptFailure(provider, e));
    const next = afterFailure(deps, ctx, provider, e, n);
    if ("ok" in next) return next;
    ctx.record.retried(provider, failureReason(failures[failures.length - 1] as AttemptFailure));
    await deps.sleep(next.retryInMs, ctx.lifetime.signal).catch(() => undefined);
  }
  return GIVE_UP;
}

function attemptFailure(provider: ProviderConfig, e: UpstreamError): AttemptFailure {
  return {
    provider: provider.id,
    kind: e.kind,
    status: e.status,
    retryAfterMs: e.retryAfterMs,
    message: e.message,
    code: e.code,
    param: e.param,
    rejection: e.rejection,
  };
}

function refusedSlot(provider: ProviderConfig, slot: Refused): AttemptFailure {
  const status = slot.kind === "saturated" ? 429 : 503;
  const { kind, retryAfterMs, message } = slot;
  return { provider: provider.id, kind, status, retryAfterMs, message, code: null, param: null, rejection: null };
}

function circuitOpen(provider: ProviderConfig): AttemptFailure {
  return {
    provider: provider.id,
    kind: "circuit_open",
    status: null,
    retryAfterMs: null,
    message: "circuit open",
    code: null,
    param: null,
    rejection: null,
  };
}

/** One attempt under the route's deadlines; a failure comes back as a redacted UpstreamError, already recorded. */
async function attemptOnce<T>(
  deps: DispatchDeps,
  ctx: AttemptContext,
  provider: ProviderConfig,
  attempt: AttemptFn<T>,
  release: () => void,
): Promise<{ ok: true; value: T } | { ok: false; error: UpstreamError }> {
  const { attemptMs } = ctx.route.timeouts;
  const scope = scopedSignal(ctx.lifetime, attemptMs, `no answer within the attempt timeout (${attemptMs}ms)`);
  const started = ctx.record.attemptStarted(provider);
  try {
    const value = await attempt(provider, scope, started, release);
    deps.health.recordSuccess(provider.id);
    return { ok: true, value };
  } catch (err) {
    release();
    scope.dispose();
    const error = attemptError(deps, ctx, provider, err, scope);
    ctx.record.attemptEnded(started, error.kind === "http" ? `http_${error.status ?? 0}` : error.kind);
    return { ok: false, error };
  }
}

/** After a failed attempt, by the retry policy: an outcome for this provider, or how long to wait to retry. */
function afterFailure(
  deps: DispatchDeps,
  ctx: AttemptContext,
  provider: ProviderConfig,
  e: UpstreamError,
  n: number,
): ProviderOutcome<never> | { retryInMs: number } {
  const { route } = ctx;
  const action = failureAction(e, route.retry.retryOn);
  if (countsAgainstProvider(e, action)) deps.health.recordFailure(provider.id, route.circuitBreaker);
  if (action === "reject") return { ok: false, fatal: e };
  if (action !== "retry") return GIVE_UP;
  const delay = backoff(route, n, e.retryAfterMs, deps.random());
  if (delay === null || n + 1 >= route.retry.attempts) return GIVE_UP;
  return { retryInMs: delay };
}

/**
 * What an attempt's failure was, as a redacted UpstreamError: the route's total timeout (aborted: the request is
 * over), the attempt's own deadline (timeout, saying which), else what the adapter threw.
 */
export function attemptError(
  deps: DispatchDeps,
  ctx: AttemptContext,
  provider: ProviderConfig,
  err: unknown,
  scope: ScopedSignal,
): UpstreamError {
  return redacted(toUpstreamError(err, ctx, scope), deps.credential(provider.credentialKey));
}

function toUpstreamError(err: unknown, ctx: AttemptContext, scope: ScopedSignal): UpstreamError {
  if (abortCause(ctx.lifetime) === "deadline") {
    const message = `the route's total timeout (${ctx.route.timeouts.requestMs}ms) passed`;
    return new UpstreamError("aborted", message, null, null, { cause: err });
  }
  if (ctx.lifetime.aborted) {
    return err instanceof UpstreamError && err.kind === "aborted"
      ? err
      : new UpstreamError("aborted", "request aborted", null, null, { cause: err });
  }
  const deadline = deadlinePassed(scope.signal);
  if (deadline !== null) return new UpstreamError("timeout", deadline, null, null, { cause: err });
  if (err instanceof UpstreamError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new UpstreamError("internal", `unexpected adapter error: ${message}`, null, null, { cause: err });
}

/** The error with the attempt's key and anything shaped like a credential redacted from its message. */
function redacted(e: UpstreamError, apiKey: string | null): UpstreamError {
  const message = redactSecrets(e.message, [apiKey]);
  return message === e.message ? e : e.withMessage(message);
}

export function failureReason(f: Pick<AttemptFailure, "kind" | "status">): string {
  return f.kind === "http" ? `http_${f.status ?? 0}` : f.kind;
}

export function withModel(request: ChatRequest, provider: ProviderConfig): ChatRequest {
  return { ...request, model: provider.model };
}

/** The adapter's options for one attempt: its key, CA bundle, request id and the attempt's trace context. */
export function callOptions(
  deps: DispatchDeps,
  attempt: Attempt,
  ctx: AttemptContext,
  signal: CallSignal,
): CallOptions {
  const { provider } = attempt;
  return {
    signal,
    apiKey: deps.credential(provider.credentialKey),
    caBundle: deps.credential(provider.egress?.caKey ?? null),
    requestId: ctx.requestId,
    trace: attempt.trace,
    onMalformedEvent: () => ctx.record.malformedEvent(provider),
  };
}
