/**
 * Dispatch: try the selected providers in order. On each, retry retryable failures with exponential backoff
 * (an upstream retry-after wins when longer; one longer than the backoff cap moves on at once); then fall back
 * to the next provider. Circuit breakers and limits are consulted before each attempt. Streams are committed
 * only once their first chunk has arrived, so everything before the first byte can be retried.
 */
import type { ProviderConfig, ProviderType, RouteConfig } from "../config/types.js";
import type { RouterMetrics } from "../metrics/metrics.js";
import {
  UpstreamError,
  type ChatCompletion,
  type ChatCompletionChunk,
  type ChatRequest,
  type ProviderAdapter,
} from "../providers/types.js";
import { scopedSignal } from "./abort.js";
import type { ProviderHealth } from "./health.js";

export interface DispatchDeps {
  adapters: Record<ProviderType, ProviderAdapter>;
  /** The API key for a credential key, or null. */
  credential: (key: string | null) => string | null;
  health: ProviderHealth;
  metrics: RouterMetrics;
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
}

export type DispatchResult<T> =
  | { ok: true; provider: ProviderConfig; value: T; failures: AttemptFailure[] }
  | { ok: false; failures: AttemptFailure[]; fatal: UpstreamError | null };

/** A committed stream: its first chunk has arrived. */
export interface OpenStream {
  first: ChatCompletionChunk;
  rest: AsyncIterator<ChatCompletionChunk>;
  startedAt: number;
  firstChunkAt: number;
  release: () => void;
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
      observeUpstream(deps, provider, started, "success");
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
      const rest = chunks[Symbol.asyncIterator]();
      const first = await rest.next();
      if (first.done === true) throw new UpstreamError("malformed", "upstream stream ended before its first chunk");
      const firstChunkAt = deps.now();
      deps.metrics.timeToFirstToken.observe(
        { provider: provider.id, model: provider.model },
        (firstChunkAt - startedAt) / 1000,
      );
      deps.metrics.genAiTimeToFirstToken.observe(genAiLabels(provider), (firstChunkAt - startedAt) / 1000);
      return { first: first.value, rest, startedAt, firstChunkAt, release };
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
    if (outcome.fatal) return { ok: false, failures, fatal: outcome.fatal };
    const next = tried[i + 1];
    const last = failures[failures.length - 1];
    if (next && last) {
      deps.metrics.fallbacks.inc({
        route: route.name,
        from_provider: provider.id,
        to_provider: next.id,
        reason: failureReason(last),
      });
    }
    if (ctx.signal.aborted) break;
  }
  return { ok: false, failures, fatal: null };
}

type ProviderOutcome<T> = { ok: true; value: T } | { ok: false; fatal: UpstreamError | null };

async function tryProvider<T>(
  deps: DispatchDeps,
  ctx: DispatchContext,
  provider: ProviderConfig,
  attempt: AttemptFn<T>,
  failures: AttemptFailure[],
): Promise<ProviderOutcome<T>> {
  const { route } = ctx;
  for (let n = 0; n < route.retry.attempts; n++) {
    if (ctx.signal.aborted) return { ok: false, fatal: null };
    if (deps.health.isOpen(provider.id)) {
      failures.push({
        provider: provider.id,
        kind: "circuit_open",
        status: null,
        retryAfterMs: null,
        message: "circuit open",
      });
      return { ok: false, fatal: null };
    }
    const scoped = scopedSignal(ctx.signal, route.timeouts.attemptMs);
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
      const e = toUpstreamError(err, ctx.signal, route.timeouts.attemptMs);
      failures.push({
        provider: provider.id,
        kind: e.kind,
        status: e.status,
        retryAfterMs: e.retryAfterMs,
        message: e.message,
      });
      observeUpstream(deps, provider, started, e.kind === "http" ? `http_${e.status ?? 0}` : e.kind);
      if (e.kind === "aborted") return { ok: false, fatal: null };
      if (isClientError(e)) return { ok: false, fatal: e };
      deps.health.recordFailure(provider.id, route.circuitBreaker);
      if (!shouldRetry(e, route)) return { ok: false, fatal: null };
      const delay = backoff(route, n, e.retryAfterMs, deps.random());
      if (delay === null || n + 1 >= route.retry.attempts) return { ok: false, fatal: null };
      deps.metrics.retries.inc({
        provider: provider.id,
        reason: failureReason(failures[failures.length - 1] as AttemptFailure),
      });
      await deps.sleep(delay, ctx.signal).catch(() => undefined);
    }
  }
  return { ok: false, fatal: null };
}

/** Upstream 4xx answers other than 401/403/408/429 mean the request itself is bad: no retry, no fallback. */
function isClientError(e: UpstreamError): boolean {
  if (e.kind !== "http" || e.status === null) return false;
  return e.status >= 400 && e.status < 500 && ![401, 403, 408, 429].includes(e.status);
}

function shouldRetry(e: UpstreamError, route: RouteConfig): boolean {
  if (e.kind !== "http") return e.kind !== "malformed";
  return e.status !== null && route.retry.retryOn.includes(e.status);
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

function toUpstreamError(err: unknown, requestSignal: AbortSignal, attemptMs: number): UpstreamError {
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
  return new UpstreamError("malformed", `unexpected adapter error: ${message}`, null, null, { cause: err });
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

export function observeUpstream(deps: DispatchDeps, provider: ProviderConfig, started: number, outcome: string): void {
  const seconds = (deps.now() - started) / 1000;
  deps.metrics.upstreamDuration.observe({ provider: provider.id, model: provider.model, outcome }, seconds);
  deps.metrics.genAiRequestDuration.observe(
    { ...genAiLabels(provider), error_type: outcome === "success" ? "" : outcome },
    seconds,
  );
}

export function genAiLabels(p: ProviderConfig) {
  return {
    gen_ai_operation_name: "chat",
    gen_ai_provider_name: p.type === "azure-openai" ? "azure.ai.openai" : p.type,
    gen_ai_request_model: p.model,
    gen_ai_response_model: p.model,
  };
}
