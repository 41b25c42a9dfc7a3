/**
 * A stream from first chunk to end, across continuations (route `midStreamFailure: continue`, ADR 8). When a
 * committed stream fails after content reached the client — cut, stalled past streamIdle, an error event — the
 * request goes on to the next candidate that accepts an assistant prefill (capabilities.prefill), with the text
 * the client already has as that prefill, and the continuation is spliced into the same client stream: its role
 * chunk dropped, its chunk ids made the first stream's, and whatever it repeats of the partial answer removed.
 * A stream that relayed tool calls or several choices, a failure the retry policy would not fall back from, or no
 * candidate left: the stream ends with the error event, as with `error-event`. Every attempt that produced output
 * is returned as a segment, so both are billed.
 */
import type { ProviderConfig } from "../config/types.js";
import type { ChatCompletionChunk, ChatMessage, Usage } from "../openai/types.js";
import type { UpstreamError } from "../providers/types.js";
import { failureReason, type AttemptFailure, type DispatchContext, type DispatchDeps } from "./dispatch.js";
import { relayStream, type ChunkSink } from "./relay.js";
import { failureAction } from "./retry-policy.js";
import { dispatchStream, type OpenStream } from "./stream.js";

/** One attempt's share of the answer: who produced it and what it cost. */
export interface Segment {
  provider: ProviderConfig;
  usage: Usage | null;
  /** Characters of output relayed. */
  chars: number;
  /** Characters this attempt's prompt had beyond the request's (the prefill). */
  extraPromptChars: number;
}

export interface StreamSession {
  /** The id of the client's stream (the first stream's chunks' id; continuations take it). */
  id: string;
  /** In order; more than one when the stream was continued. */
  segments: Segment[];
  /** The last segment's usage chunk (held back, for the client's final usage chunk). */
  usageChunk: ChatCompletionChunk | null;
  /** The failure the stream ended with, if any. */
  error: UpstreamError | null;
  clientGone: boolean;
  /** Set when the stream was continued: the provider that failed first, the last one, and why. */
  continued: { from: ProviderConfig; to: ProviderConfig; reason: string } | null;
  /** Choice 0's text as the client received it (for judge sampling, like the prefill of a continuation). */
  text: string;
  /** Choice 0's tool calls as the client received them, assembled from their deltas. */
  toolCalls: { name: string; arguments: string }[];
}

export interface Opened {
  provider: ProviderConfig;
  value: OpenStream;
  failures: AttemptFailure[];
}

export async function relaySession(
  deps: DispatchDeps,
  ctx: DispatchContext,
  opened: Opened,
  sink: ChunkSink,
): Promise<StreamSession> {
  const client = textTracking(sink);
  const tried = new Set([...opened.failures.map((f) => f.provider), opened.provider.id]);
  const session: StreamSession = {
    id: "",
    segments: [],
    usageChunk: null,
    error: null,
    clientGone: false,
    continued: null,
    text: "",
    toolCalls: [],
  };
  let current = { provider: opened.provider, stream: opened.value, sink: client as SplicingSink, extra: 0 };
  let id: string | null = null;
  for (;;) {
    const r = await relayStream(current.stream, current.sink, ctx.lifetime);
    current.sink.flush();
    id ??= r.id;
    session.id = id;
    session.segments.push({
      provider: current.provider,
      usage: r.usage,
      chars: r.chars,
      extraPromptChars: current.extra,
    });
    Object.assign(session, { usageChunk: r.usageChunk, error: r.error, clientGone: r.clientGone });
    Object.assign(session, { text: client.text(), toolCalls: client.toolCalls() });
    if (r.error === null || r.clientGone || r.structured || !continuable(ctx, r.error)) return session;
    const prefill = client.text().trimEnd();
    const next = await openContinuation(deps, ctx, tried, prefill);
    if (next === null) return session;
    const reason = failureReason(r.error);
    ctx.record.fellBack(ctx.route, current.provider, next.provider, `mid_stream_${reason}`);
    session.continued = { from: session.continued?.from ?? current.provider, to: next.provider, reason };
    tried.add(next.provider.id);
    current = {
      provider: next.provider,
      stream: next.value,
      sink: splicing(client, id, client.text()),
      extra: prefill.length,
    };
  }
}

function continuable(ctx: DispatchContext, error: UpstreamError): boolean {
  if (ctx.route.midStreamFailure !== "continue" || !ctx.route.fallback.enabled || ctx.lifetime.aborted) return false;
  const action = failureAction(error, ctx.route.retry.retryOn);
  return action === "retry" || action === "next";
}

/** The next candidates that accept prefill, within the route's provider budget; null when none answers. */
async function openContinuation(
  deps: DispatchDeps,
  ctx: DispatchContext,
  tried: Set<string>,
  prefill: string,
): Promise<Opened | null> {
  const budget = ctx.route.fallback.maxProviders - tried.size;
  const order = ctx.order
    .filter((p) => !tried.has(p.id) && p.capabilities.prefill === true)
    .slice(0, Math.max(0, budget));
  if (order.length === 0) return null;
  const request = { ...ctx.request, messages: withPrefill(ctx.request.messages, prefill) };
  const result = await dispatchStream(deps, { ...ctx, order, request });
  for (const f of result.failures) tried.add(f.provider);
  return result.ok ? result : null;
}

/** The conversation with the partial answer as a trailing assistant message (none when it is empty). */
export function withPrefill(messages: ChatMessage[], prefill: string): ChatMessage[] {
  return prefill === "" ? messages : [...messages, { role: "assistant", content: prefill }];
}

interface SplicingSink extends ChunkSink {
  /** Writes what is held back (at the end of a segment). */
  flush(): void;
}

interface TrackingSink extends SplicingSink {
  /** Choice 0's text the client has received so far. */
  text(): string;
  /** Choice 0's tool calls the client has received so far. */
  toolCalls(): { name: string; arguments: string }[];
}

function textTracking(inner: ChunkSink): TrackingSink {
  let text = "";
  const calls: { name: string; arguments: string }[] = [];
  return {
    write: (chunk) => {
      const delta = deltaOf(chunk);
      if (typeof delta?.["content"] === "string") text += delta["content"];
      if (Array.isArray(delta?.["tool_calls"])) for (const d of delta["tool_calls"] as unknown[]) addToolCall(calls, d);
      inner.write(chunk);
    },
    gone: () => inner.gone(),
    flush: () => undefined,
    text: () => text,
    toolCalls: () => calls.map((c) => ({ ...c })),
  };
}

/** Adds a tool call delta (`{index, function: {name?, arguments?}}`) to the calls assembled so far. */
function addToolCall(calls: { name: string; arguments: string }[], delta: unknown): void {
  const d = delta as { index?: unknown; function?: { name?: unknown; arguments?: unknown } } | null;
  const index = typeof d?.index === "number" ? d.index : calls.length;
  const call = (calls[index] ??= { name: "", arguments: "" });
  if (typeof d?.function?.name === "string") call.name += d.function.name;
  if (typeof d?.function?.arguments === "string") call.arguments += d.function.arguments;
}

/**
 * A continuation's chunks as part of the first stream: the first stream's id, no second role, and the overlap
 * with what the client has (`before`) removed. Text is held back until the overlap is decided.
 */
function splicing(inner: ChunkSink, id: string, before: string): SplicingSink {
  const trimmer = new OverlapTrimmer(before);
  let template: ChatCompletionChunk | null = null;
  const emit = (chunk: ChatCompletionChunk): void => inner.write({ ...chunk, id });
  const flushText = (): void => {
    const held = trimmer.flush();
    if (held !== "" && template !== null) emit(withDelta(template, { content: held }, null));
  };
  return {
    write: (chunk) => {
      template ??= chunk;
      const choice = chunk.choices[0] as { delta?: Record<string, unknown>; finish_reason?: unknown } | undefined;
      const delta = trimmed(choice?.delta ?? {}, trimmer);
      const finish = typeof choice?.finish_reason === "string" ? choice.finish_reason : null;
      if (finish !== null) flushText();
      if (Object.keys(delta).length > 0 || finish !== null) emit(withDelta(chunk, delta, finish));
    },
    gone: () => inner.gone(),
    flush: flushText,
  };
}

/** A continuation chunk's delta without the role and with its text through the trimmer (dropped when empty). */
function trimmed(delta: Record<string, unknown>, trimmer: OverlapTrimmer): Record<string, unknown> {
  const { role: _role, ...rest } = delta;
  const content = rest["content"];
  if (typeof content !== "string") return rest;
  const text = trimmer.push(content);
  if (text === "") delete rest["content"];
  else rest["content"] = text;
  return rest;
}

function withDelta(chunk: ChatCompletionChunk, delta: Record<string, unknown>, finish: string | null) {
  const first = (chunk.choices[0] ?? {}) as Record<string, unknown>;
  return { ...chunk, choices: [{ ...first, index: 0, delta, finish_reason: finish }] };
}

function deltaOf(chunk: ChatCompletionChunk): Record<string, unknown> | undefined {
  const choice = chunk.choices[0] as { index?: unknown; delta?: Record<string, unknown> } | undefined;
  return (choice?.index ?? 0) === 0 ? choice?.delta : undefined;
}

/** Longest repetition of the partial answer looked for at a continuation's start. */
export const MAX_OVERLAP = 64;
/** Shorter repetitions are only removed when they are whitespace (a prefill cannot end in whitespace). */
const MIN_OVERLAP = 4;

/**
 * Removes from the start of a continuation what it repeats of the end of the text the client has: the longest
 * suffix of `before` (up to MAX_OVERLAP characters) the continuation begins with, when it is at least MIN_OVERLAP
 * characters or only whitespace. Holds text back until that is decided.
 */
export class OverlapTrimmer {
  private held = "";
  private decided = false;
  private readonly before: string;

  constructor(before: string) {
    this.before = before.slice(-MAX_OVERLAP);
  }

  /** The part of `piece` to emit now. */
  push(piece: string): string {
    if (this.decided) return piece;
    this.held += piece;
    if (this.held.length < this.before.length) return "";
    return this.flush();
  }

  /** Decides with what is held and returns it, trimmed. */
  flush(): string {
    if (this.decided) return "";
    this.decided = true;
    const held = this.held;
    this.held = "";
    return held.slice(overlap(this.before, held));
  }
}

function overlap(before: string, text: string): number {
  for (let k = Math.min(before.length, text.length); k > 0; k--) {
    const part = text.slice(0, k);
    if (!before.endsWith(part)) continue;
    if (k >= MIN_OVERLAP || part.trim() === "") return k;
  }
  return 0;
}
