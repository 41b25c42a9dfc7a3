/**
 * Dispatch: try the selected providers in order. After each failed attempt the retry policy (retry-policy.ts)
 * decides: retry on the same provider with exponential backoff (an upstream retry-after wins when longer; one
 * longer than the backoff cap moves on at once), fall back to the next provider, return the upstream's rejection,
 * or stop. Circuit breakers and limits are consulted before each attempt. Streams are committed only once their
 * first chunk has arrived, so everything before the first byte can be retried. Every attempt is reported to the
 * request record; dispatch writes no metric itself.
 */
import type { AttemptObserver } from "../accounting/request-record.js";
import type { ProviderConfig, ProviderType, RouteConfig } from "../config/types.js";
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from "../openai/types.js";
import { redactSecrets } from "../providers/shared/redact.js";
import { UpstreamError, type ProviderAdapter } from "../providers/types.js";
import { abortCause, scopedSignal } from "./abort.js";
import { backoff, countsAgainstProvider, failureAction } from "./retry-policy.js";
import type { ProviderHealth } from "./health.js";

export interface DispatchDeps {
  adapters: Record<ProviderType, ProviderAdapter>;
  /** The API key for a credential key, or null. */
  credential: (key: string | null) => string | null;
  health: ProviderHealth;
  now: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  random: () => number;
}

/** One failed attempt, as reported to the client and logs (never with keys). */
export interface AttemptFailure {
  provider: string;
  kind: UpstreamError["kind"] | "circuit_open";
  status: number | null;
  retryAfterMs: number | null;
  message: string;
}

export interface DispatchContext {
  route: RouteConfig;
  order: ProviderConfig[];
  request: ChatRequest;
  requestId: string;
  /** Aborted when the client goes away or the route's total timeout passes. */
  signal: AbortSignal;
  /** The request record, told about every attempt, retry, fallback and first chunk. */
  record: AttemptObserver;
}

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
 * A committed stream: its first chunk has arrived. The attempt stays open (the provider's in-flight slot held)
 * until `end`, which the relay calls once with the stream's outcome.
 */
export interface OpenStream {
  first: ChatCompletionChunk;
  rest: AsyncIterator<ChatCompletionChunk>;
  /** Ends the attempt: frees the provider's slot and reports the upstream duration. Idempotent. */
  end: (outcome: "success" | "stream_error") => void;
}

export function dispatchCompletion(deps: DispatchDeps, ctx: DispatchContext): Promise<DispatchResult<ChatCompletion>> {
  return runAttempts(deps, ctx, async (provider, signal) => {
    const started = deps.now();
    const release = deps.health.begin(provider.id);
    try {
      const adapter = deps.adapters[provider.type];
      const result = await adapter.complete(
        provider,
        withModel(ctx.request, provider),
        options(deps, provider, ctx, signal),
      );
      ctx.record.attemptEnded(provider, started, "success");
      return result.body;
    } finally {
      release();
    }
  });
}

export function dispatchStream(deps: DispatchDeps, ctx: DispatchContext): Promise<DispatchResult<OpenStream>> {
  return runAttempts(deps, ctx, async (provider, signal) => {
    const startedAt = deps.now();
    const release = deps.health.begin(provider.id);
    try {
      const adapter = deps.adapters[provider.type];
      const { chunks } = await adapter.stream(
        provider,
        withModel(ctx.request, provider),
        options(deps, provider, ctx, signal),
      );
      const rest = redacting(chunks[Symbol.asyncIterator](), deps.credential(provider.credentialKey));
      const first = await rest.next();
      if (first.done === true) throw new UpstreamError("malformed", "upstream stream ended before its first chunk");
      ctx.record.firstChunk(provider, startedAt);
      let ended = false;
      const end = (outcome: "success" | "stream_error"): void => {
        if (ended) return;
        ended = true;
        release();
        ctx.record.attemptEnded(provider, startedAt, outcome);
      };
      return { first: first.value, rest, end };
    } catch (err) {
      release();
      throw err;
    }
  });
}

type AttemptFn<T> = (provider: ProviderConfig, signal: AbortSignal) => Promise<T>;

async function runAttempts<T>(
  deps: DispatchDeps,
  ctx: DispatchContext,
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
    const next = tried[i + 1];
    const last = failures[failures.length - 1];
    if (next && last) ctx.record.fellBack(route, provider, next, failureReason(last));
    if (ctx.signal.aborted) break;
  }
  return { ok: false, failures, fatal: null, ended: abortCause(ctx.signal) };
}

/** The providers a request fell back from: those that failed, but not the one that answered after retrying. */
export function fellBackFrom(answered: { provider: ProviderConfig; failures: AttemptFailure[] }): string[] {
  const ids = answered.failures.map((f) => f.provider).filter((id) => id !== answered.provider.id);
  return [...new Set(ids)];
}

type ProviderOutcome<T> = { ok: true; value: T } | { ok: false; fatal: UpstreamError | null };

const GIVE_UP = { ok: false, fatal: null } as const;

/** Attempts on one provider: as many as the route allows while the retry policy says retry. */
async function tryProvider<T>(
  deps: DispatchDeps,
  ctx: DispatchContext,
  provider: ProviderConfig,
  attempt: AttemptFn<T>,
  failures: AttemptFailure[],
): Promise<ProviderOutcome<T>> {
  for (let n = 0; n < ctx.route.retry.attempts; n++) {
    if (ctx.signal.aborted) return GIVE_UP;
    if (deps.health.isOpen(provider.id)) {
      failures.push({
        provider: provider.id,
        kind: "circuit_open",
        status: null,
        retryAfterMs: null,
        message: "circuit open",
      });
      return GIVE_UP;
    }
    const result = await attemptOnce(deps, ctx, provider, attempt);
    if (result.ok) return result;
    const e = result.error;
    failures.push({
      provider: provider.id,
      kind: e.kind,
      status: e.status,
      retryAfterMs: e.retryAfterMs,
      message: e.message,
    });
    const next = afterFailure(deps, ctx, provider, e, n);
    if ("ok" in next) return next;
    ctx.record.retried(provider, failureReason(failures[failures.length - 1] as AttemptFailure));
    await deps.sleep(next.retryInMs, ctx.signal).catch(() => undefined);
  }
  return GIVE_UP;
}

/** One attempt under the route's attempt timeout; a failure comes back as an UpstreamError, already recorded. */
async function attemptOnce<T>(
  deps: DispatchDeps,
  ctx: DispatchContext,
  provider: ProviderConfig,
  attempt: AttemptFn<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: UpstreamError }> {
  const scoped = scopedSignal(ctx.signal, ctx.route.timeouts.attemptMs);
  const started = deps.now();
  try {
    const value = await attempt(provider, scoped.signal);
    // The attempt timeout covers the time to a usable answer (for streams: the first chunk); later chunks
    // are bounded by the request's total timeout, and client disconnects, through ctx.signal.
    scoped.clearTimer();
    deps.health.recordSuccess(provider.id);
    return { ok: true, value };
  } catch (err) {
    scoped.dispose();
    const error = redacted(
      toUpstreamError(err, ctx, ctx.route.timeouts.attemptMs),
      deps.credential(provider.credentialKey),
    );
    ctx.record.attemptEnded(provider, started, error.kind === "http" ? `http_${error.status ?? 0}` : error.kind);
    return { ok: false, error };
  }
}

/** After a failed attempt, by the retry policy: an outcome for this provider, or how long to wait to retry. */
function afterFailure(
  deps: DispatchDeps,
  ctx: DispatchContext,
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

function toUpstreamError(err: unknown, ctx: DispatchContext, attemptMs: number): UpstreamError {
  const requestSignal = ctx.signal;
  if (abortCause(requestSignal) === "deadline") {
    const message = `the route's total timeout (${ctx.route.timeouts.requestMs}ms) passed`;
    return new UpstreamError("aborted", message, null, null, { cause: err });
  }
  if (err instanceof UpstreamError) {
    if (err.kind === "aborted" && !requestSignal.aborted) {
      return new UpstreamError("timeout", `no answer within the attempt timeout (${attemptMs}ms)`, null, null, {
        cause: err,
      });
    }
    return err;
  }
  if (requestSignal.aborted) return new UpstreamError("aborted", "request aborted", null, null, { cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new UpstreamError("internal", `unexpected adapter error: ${message}`, null, null, { cause: err });
}

/** The error with the attempt's key and anything shaped like a credential redacted from its message. */
function redacted(e: UpstreamError, apiKey: string | null): UpstreamError {
  const message = redactSecrets(e.message, [apiKey]);
  return message === e.message ? e : e.withMessage(message);
}

/** A stream's chunks whose failures, mid-stream too, are redacted UpstreamErrors. */
function redacting(
  source: AsyncIterator<ChatCompletionChunk>,
  apiKey: string | null,
): AsyncIterator<ChatCompletionChunk> {
  const mapped = (err: unknown): UpstreamError =>
    redacted(
      err instanceof UpstreamError ? err : new UpstreamError("reset", String(err), null, null, { cause: err }),
      apiKey,
    );
  return {
    next: () => source.next().catch((err: unknown) => Promise.reject(mapped(err))),
    return: async (value?: unknown) => (await source.return?.(value)) ?? { done: true, value: undefined },
  };
}

export function failureReason(f: AttemptFailure): string {
  return f.kind === "http" ? `http_${f.status ?? 0}` : f.kind;
}

function withModel(request: ChatRequest, provider: ProviderConfig): ChatRequest {
  return { ...request, model: provider.model };
}

function options(deps: DispatchDeps, provider: ProviderConfig, ctx: DispatchContext, signal: AbortSignal) {
  return { signal, apiKey: deps.credential(provider.credentialKey), requestId: ctx.requestId };
}
