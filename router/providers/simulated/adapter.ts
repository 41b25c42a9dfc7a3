/**
 * A provider with no network: replies derived from the prompt (see ./translate.ts), paced by the provider's
 * `simulated` behaviour (time to first token, tokens per second; ≤ 0 means no delay), failing a deterministic
 * `failureRate` share of requests with UpstreamError("http", 503) before any output.
 */
import type { ProviderConfig } from "../../config/types.js";
import type { ChatCompletionChunk, ChatRequest, Usage } from "../../openai/types.js";
import type { CallOptions, ProviderAdapter } from "../types.js";
import { UpstreamError } from "../types.js";
import { abortableDelay, type CallSignal } from "../shared/call-signal.js";
import { completionChunks } from "../../openai/chunks.js";
import { needsShaping, shapedChoices } from "./shape.js";
import { simulatedEmbeddings } from "./embed.js";
import { parseEmbeddingRequest } from "../../openai/embeddings.js";
import {
  completionId,
  DEFAULT_SIMULATED,
  plan,
  replyText,
  replyTokens,
  shouldFail,
  usageOf,
  type Plan,
} from "./translate.js";

export interface SimulatedAdapterDeps {
  /** Waits `ms`; rejects when the signal aborts. Defaults to a timer. */
  sleep?: (ms: number, signal: CallSignal) => Promise<void>;
  /** Monotonic milliseconds. Defaults to performance.now(). */
  nowMs?: () => number;
  /** Seconds since the epoch for `created`. */
  nowSec?: () => number;
}

/** At most this many chunks per second; faster models put several tokens in one chunk. */
const MAX_CHUNKS_PER_SECOND = 100;

interface Clock {
  sleep: (ms: number, signal: CallSignal) => Promise<void>;
  nowMs: () => number;
  nowSec: () => number;
}

export function createSimulatedAdapter(deps: SimulatedAdapterDeps = {}): ProviderAdapter {
  const clock: Clock = {
    sleep: deps.sleep ?? abortableDelay,
    nowMs: deps.nowMs ?? (() => performance.now()),
    nowSec: deps.nowSec ?? (() => Math.floor(Date.now() / 1000)),
  };
  return {
    async complete(provider, request, options) {
      const p = begin(provider, request, options);
      const behaviour = provider.simulated ?? DEFAULT_SIMULATED;
      await wait(
        clock,
        behaviour.timeToFirstTokenMs + generationMs(behaviour.tokensPerSecond, p.completionTokens),
        options,
        provider.id,
      );
      return { body: completionOf(clock, provider, request, p, options) };
    },
    // eslint-disable-next-line @typescript-eslint/require-await -- async so a failure rejects like a real upstream's
    async stream(provider, request, options) {
      const p = begin(provider, request, options);
      if (!needsShaping(request)) return { chunks: simulatedChunks(clock, provider, p, options) };
      return { chunks: shapedChunks(clock, provider, request, p, options) };
    },
    // eslint-disable-next-line @typescript-eslint/require-await -- async so a failure rejects like a real upstream's
    async embed(provider, request, options) {
      if (options.signal.aborted) throw new UpstreamError("aborted", `${provider.id}: request aborted`);
      if (shouldFail(provider, options.requestId))
        throw new UpstreamError("http", `${provider.id}: HTTP 503: simulated upstream failure`, 503);
      return { body: simulatedEmbeddings(provider.model, parseEmbeddingRequest(request)) };
    },
    close: () => Promise.resolve(),
  };
}

function begin(provider: ProviderConfig, request: ChatRequest, options: CallOptions): Plan {
  if (options.signal.aborted) throw new UpstreamError("aborted", `${provider.id}: request aborted`);
  if (shouldFail(provider, options.requestId)) {
    throw new UpstreamError("http", `${provider.id}: HTTP 503: simulated upstream failure`, 503);
  }
  return plan(provider, request);
}

function completionOf(clock: Clock, provider: ProviderConfig, request: ChatRequest, p: Plan, options: CallOptions) {
  const choices = needsShaping(request)
    ? shapedChoices(request, p.promptHash, p.completionTokens, p.finishReason)
    : [
        {
          index: 0,
          message: { role: "assistant", content: replyText(p.promptHash, p.completionTokens), refusal: null },
          logprobs: null,
          finish_reason: p.finishReason,
        },
      ];
  const usage = usageOf({ ...p, completionTokens: p.completionTokens * choices.length });
  return {
    id: completionId(options.requestId),
    object: "chat.completion" as const,
    created: clock.nowSec(),
    model: provider.model,
    choices,
    usage,
  };
}

/**
 * A tool call, JSON, several choices or logprobs, streamed: generated whole at the provider's pace, then sent as
 * the chunks that carry it (role and content or tool calls per choice, finish, usage).
 */
async function* shapedChunks(
  clock: Clock,
  provider: ProviderConfig,
  request: ChatRequest,
  p: Plan,
  options: CallOptions,
): AsyncGenerator<ChatCompletionChunk> {
  const behaviour = provider.simulated ?? DEFAULT_SIMULATED;
  await wait(
    clock,
    behaviour.timeToFirstTokenMs + generationMs(behaviour.tokensPerSecond, p.completionTokens),
    options,
    provider.id,
  );
  const completion = completionOf(clock, provider, request, p, options);
  for (const chunk of completionChunks(completion)) {
    const index = (chunk.choices[0] as { index: number } | undefined)?.index ?? 0;
    const logprobs = completion.choices[index]?.logprobs ?? null;
    const withLogprobs = chunk.choices.map((c) => ({
      ...(c as Record<string, unknown>),
      logprobs: isContent(c) ? logprobs : null,
    }));
    yield { ...chunk, choices: withLogprobs };
  }
  yield {
    id: completion.id,
    object: "chat.completion.chunk",
    created: completion.created,
    model: completion.model,
    choices: [],
    usage: completion.usage,
  };
}

/** A content chunk (the one carrying the delta's text), as opposed to the finish chunk. */
function isContent(choice: unknown): boolean {
  return (
    typeof choice === "object" && choice !== null && (choice as { finish_reason?: unknown }).finish_reason === null
  );
}

function generationMs(tokensPerSecond: number, tokens: number): number {
  return tokensPerSecond > 0 ? (tokens * 1000) / tokensPerSecond : 0;
}

async function wait(clock: Clock, ms: number, options: CallOptions, providerId: string): Promise<void> {
  if (ms <= 0) return;
  try {
    await clock.sleep(ms, options.signal);
  } catch (err) {
    throw new UpstreamError("aborted", `${providerId}: request aborted`, null, null, { cause: err });
  }
}

/** Role chunk, content chunks paced by tokens/s (several tokens per chunk above 100 tokens/s), finish, usage. */
async function* simulatedChunks(
  clock: Clock,
  provider: ProviderConfig,
  p: Plan,
  options: CallOptions,
): AsyncGenerator<ChatCompletionChunk> {
  const behaviour = provider.simulated ?? DEFAULT_SIMULATED;
  const make = chunkMaker(completionId(options.requestId), clock.nowSec(), provider.model);
  const start = clock.nowMs() + behaviour.timeToFirstTokenMs;
  const tps = behaviour.tokensPerSecond;
  const perChunk = tps > MAX_CHUNKS_PER_SECOND ? Math.ceil(tps / MAX_CHUNKS_PER_SECOND) : 1;
  yield make({ role: "assistant", content: "" }, null, null);
  let emitted = 0;
  let pending = "";
  for (const token of replyTokens(p.promptHash, p.completionTokens)) {
    pending += token;
    emitted++;
    if (emitted % perChunk !== 0 && emitted !== p.completionTokens) continue;
    // The first chunk is due at TTFT; each later one when its tokens would have been generated.
    const due = start + generationMs(tps, emitted - 1);
    await wait(clock, due - clock.nowMs(), options, provider.id);
    yield make({ content: pending }, null, null);
    pending = "";
  }
  yield make({}, p.finishReason, null);
  yield make(null, null, usageOf(p));
}

function chunkMaker(id: string, created: number, model: string) {
  return (delta: Record<string, unknown> | null, finish: string | null, usage: Usage | null): ChatCompletionChunk => {
    const chunk: ChatCompletionChunk = {
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: delta === null ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    };
    if (usage !== null) chunk.usage = usage;
    return chunk;
  };
}
