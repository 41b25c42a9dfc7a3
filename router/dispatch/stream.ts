/**
 * A streaming attempt and its deadlines. The attempt timeout bounds the time to the response headers, the
 * route's `timeouts.firstToken` the time to the first content chunk (role-only chunks before it are held back),
 * so an upstream that accepts a stream but says nothing falls back like any failed attempt: nothing has reached
 * the client yet. Once committed, `timeouts.streamIdle` bounds every gap between chunks; a stalled stream fails
 * like a cut one. The committed attempt keeps its signal and the provider's in-flight slot until `end`.
 */
import type { Attempt } from "../accounting/request-record.js";
import type { ProviderConfig } from "../config/types.js";
import type { ChatCompletionChunk } from "../openai/types.js";
import { UpstreamError, type CallOptions } from "../providers/types.js";
import type { ScopedSignal } from "./abort.js";
import {
  attemptError,
  callOptions,
  runAttempts,
  withModel,
  type AttemptContext,
  type AttemptFn,
  type DispatchContext,
  type DispatchDeps,
  type DispatchResult,
} from "./dispatch.js";
import { countsAgainstProvider, failureAction } from "./retry-policy.js";

/** Streams: no chunk for this long once content flows means stalled (RouteConfig.timeouts.streamIdleMs). */
export const DEFAULT_STREAM_IDLE_MS = 60_000;

/** Role-only chunks held back before the first content one; more is not a stream but noise. */
const MAX_HEAD_CHUNKS = 64;

export type StreamOutcome = "success" | "stream_error" | "client_closed";

/**
 * A committed stream: its first content chunk (or event) has arrived. The attempt stays open (the provider's
 * in-flight slot held) until `end`, which the relay calls once with the stream's outcome. Chat chunks, or the
 * events of a Responses API stream passed through (dispatch/responses.ts).
 */
export interface OpenStream<T = ChatCompletionChunk> {
  /** The chunks up to and including the first content chunk (a role chunk first, usually). */
  head: T[];
  /** The rest. A failure is a redacted UpstreamError; a gap longer than streamIdle is a "timeout". */
  rest: AsyncIterator<T>;
  /**
   * Ends the attempt: frees the provider's slot and reports the upstream duration; an upstream failure counts
   * against the provider as the retry policy says. Idempotent.
   */
  end: (outcome: StreamOutcome, error?: UpstreamError | null) => void;
}

export function dispatchStream(deps: DispatchDeps, ctx: DispatchContext): Promise<DispatchResult<OpenStream>> {
  return runAttempts(deps, ctx, chatStreamAttempt(deps, ctx));
}

/** A chat streaming attempt (the adapter's stream, committed at the first content chunk). */
export function chatStreamAttempt(deps: DispatchDeps, ctx: DispatchContext): AttemptFn<OpenStream> {
  return (provider, scope, attempt, release) =>
    openStream(
      deps,
      ctx,
      { attempt, scope, release },
      {
        open: async (options) => {
          const adapter = deps.adapters[provider.type];
          return (await adapter.stream(provider, withModel(ctx.request, provider), options)).chunks;
        },
        hasContent,
      },
    );
}

/** How one kind of stream is opened and when it is committed. */
export interface StreamKind<T> {
  /** Calls the upstream; resolves once it accepted the request (its headers). */
  open: (options: CallOptions) => Promise<AsyncIterable<T>>;
  /** Whether an item carries part of the answer: the stream is committed at the first one that does. */
  hasContent: (item: T) => boolean;
}

/** One streaming attempt under the route's deadlines, committed at its first content item. */
export async function openStream<T>(
  deps: DispatchDeps,
  ctx: AttemptContext,
  { attempt, scope, release }: { attempt: Attempt; scope: ScopedSignal; release: () => void },
  kind: StreamKind<T>,
): Promise<OpenStream<T>> {
  const { provider } = attempt;
  const { attemptMs } = ctx.route.timeouts;
  const firstTokenMs = ctx.route.timeouts.firstTokenMs ?? attemptMs;
  const firstToken = `no first token within the firstToken timeout (${firstTokenMs}ms)`;
  const startedAt = deps.now();
  // Headers within the attempt timeout, and within firstToken: the first token cannot come before them.
  if (firstTokenMs < attemptMs) scope.rearm(firstTokenMs, firstToken);
  try {
    const items = await kind.open(callOptions(deps, attempt, ctx, scope.signal));
    scope.rearm(firstTokenMs - (deps.now() - startedAt), firstToken);
    const source = items[Symbol.asyncIterator]();
    const head = await untilContent(source, provider, kind.hasContent);
    ctx.record.firstChunk(attempt);
    return committed(deps, ctx, provider, { head, source, scope, release, attempt });
  } catch (err) {
    release();
    throw err;
  }
}

/** Reads until the first item with content (chat: text, tool calls, a refusal, a finish reason). */
async function untilContent<T>(
  source: AsyncIterator<T>,
  provider: ProviderConfig,
  hasContent: (item: T) => boolean,
): Promise<T[]> {
  const head: T[] = [];
  for (;;) {
    const next = await source.next();
    if (next.done === true)
      throw new UpstreamError("malformed", `${provider.id}: upstream stream ended before any content`);
    head.push(next.value);
    if (hasContent(next.value)) return head;
    if (head.length >= MAX_HEAD_CHUNKS)
      throw new UpstreamError("malformed", `${provider.id}: ${MAX_HEAD_CHUNKS} stream chunks without content`);
  }
}

/** Whether a chunk carries anything of the answer (not only the role). */
export function hasContent(chunk: ChatCompletionChunk): boolean {
  return chunk.choices.some((choice) => {
    if (typeof choice !== "object" || choice === null) return false;
    const c = choice as { delta?: Record<string, unknown>; finish_reason?: unknown };
    if (typeof c.finish_reason === "string") return true;
    const d = c.delta ?? {};
    return (
      nonEmpty(d["content"]) ||
      nonEmpty(d["refusal"]) ||
      d["tool_calls"] !== undefined ||
      d["function_call"] !== undefined
    );
  });
}

function nonEmpty(v: unknown): boolean {
  return typeof v === "string" && v.length > 0;
}

interface Committed<T> {
  head: T[];
  source: AsyncIterator<T>;
  scope: ScopedSignal;
  release: () => void;
  attempt: Attempt;
}

function committed<T>(
  deps: DispatchDeps,
  ctx: AttemptContext,
  provider: ProviderConfig,
  c: Committed<T>,
): OpenStream<T> {
  const idleMs = ctx.route.timeouts.streamIdleMs ?? DEFAULT_STREAM_IDLE_MS;
  const stalled = `no chunk within the streamIdle timeout (${idleMs}ms)`;
  c.scope.clearTimer();
  let ended = false;
  const rest: AsyncIterator<T> = {
    next: async () => {
      c.scope.rearm(idleMs, stalled);
      try {
        return await c.source.next();
      } catch (err) {
        throw attemptError(deps, ctx, provider, err, c.scope);
      } finally {
        c.scope.clearTimer();
      }
    },
    return: async (value?: unknown) => (await c.source.return?.(value)) ?? { done: true, value: undefined },
  };
  const end = (outcome: StreamOutcome, error: UpstreamError | null = null): void => {
    if (ended) return;
    ended = true;
    c.scope.dispose();
    c.release();
    if (error !== null && countsAgainstProvider(error, failureAction(error, ctx.route.retry.retryOn)))
      deps.health.recordFailure(provider.id, ctx.route.circuitBreaker);
    ctx.record.attemptEnded(c.attempt, outcome);
  };
  return { head: c.head, rest, end };
}
