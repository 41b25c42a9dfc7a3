/**
 * The end of a relayed stream: bill every attempt that reached the client (one, or more for a continued stream),
 * the final usage chunk with the `x_routewise` summary, the cost and feedback-token trailers, judge sampling.
 */
import type { Costs, RequestRecord } from "../accounting/request-record.js";
import { tokensFromUsage, type TokenCounts } from "../accounting/cost.js";
import type { Opened, Segment, StreamSession } from "../dispatch/continuation.js";
import { fellBackFrom } from "../dispatch/dispatch.js";
import type { ProviderConfig } from "../config/types.js";
import { HttpError } from "../openai/errors.js";
import type { ChatCompletionChunk, Usage } from "../openai/types.js";
import {
  baseSummary,
  costHeaders,
  evaluateAfterResponse,
  tokenFor,
  type ChatDeps,
  type Out,
  type Prior,
} from "./answered.js";
import { formatUSD } from "./headers.js";
import type { Routed } from "./route-request.js";

export function finishStream(
  deps: ChatDeps,
  out: Out,
  call: { r: Routed; record: RequestRecord; prior: Prior; opened: Pick<Opened, "provider" | "failures"> },
  session: StreamSession,
): void {
  const { r, record, prior, opened } = call;
  const billed = session.segments.map((seg) => ({ provider: seg.provider, tokens: segmentTokens(r, seg) }));
  const last = billed[billed.length - 1] ?? { provider: opened.provider, tokens: segmentTokens(r, null) };
  const costs = record.finished({
    provider: last.provider,
    tokens: last.tokens,
    outcome: session.error ? "stream_error" : session.clientGone ? "client_closed" : "success",
    fallbacks: fellBackFrom(opened).length + billed.length - 1,
    earlier: billed.slice(0, -1),
    cascade: prior.cascade,
    ...(session.error ? { streamError: session.error.message } : {}),
  });
  const token = tokenFor(deps, r, last.provider, record);
  const tokens = billed.map((b) => b.tokens);
  const { usageChunk: upstreamUsage } = session;
  const usageChunk = upstreamUsage
    ? finalUsage(r, { ...session, usageChunk: upstreamUsage }, { last, tokens, costs, token })
    : null;
  if (session.error === null && !session.clientGone) {
    const answer = { text: session.text, toolCalls: session.toolCalls };
    evaluateAfterResponse(out.res, deps, r, record.requestId, { provider: last.provider, answer });
  }
  out.w.end({ error: streamError(session), usageChunk, tokens: summedTokens(tokens), clientGone: session.clientGone });
  out.res.addTrailers({
    ...costHeaders(costs, token, r.budget),
    ...(session.continued ? { "x-routewise-continuation": continuation(session.continued) } : {}),
  });
  out.res.end();
}

/** The client's error for a stream that failed after its first chunk. */
function streamError(session: StreamSession): HttpError | null {
  if (session.error === null) return null;
  const failed = session.segments[session.segments.length - 1]?.provider;
  const message = `upstream ${failed?.id ?? ""} failed mid-stream: ${session.error.message}`;
  return new HttpError(502, message, "api_error", "upstream_stream_error");
}

/** Every billed attempt's tokens together (one attempt's unless the stream was continued). */
function summedTokens(tokens: TokenCounts[]): TokenCounts {
  return tokens.reduce(
    (sum, t) => ({
      input: sum.input + t.input,
      cachedInput: sum.cachedInput + t.cachedInput,
      output: sum.output + t.output,
      estimated: sum.estimated || t.estimated,
    }),
    { input: 0, cachedInput: 0, output: 0, estimated: false },
  );
}

/** The final usage chunk: the answering provider's, with cost; a continued stream's sums every attempt's. */
function finalUsage(
  r: Routed,
  session: StreamSession & { usageChunk: ChatCompletionChunk },
  b: { last: { provider: ProviderConfig; tokens: TokenCounts }; tokens: TokenCounts[]; costs: Costs; token: string },
): ChatCompletionChunk {
  const { usageChunk } = session;
  const chunk = session.continued
    ? { ...usageChunk, id: session.id, usage: summedUsage(session.segments, b.tokens) }
    : usageChunk;
  const summary = routewiseSummary(r, b.last.provider, b.last.tokens, b.costs, session);
  return { ...chunk, x_routewise: { ...summary, feedback_token: b.token } };
}

/** One segment's tokens: its usage, else estimated from the request (plus its prefill) and what it relayed. */
function segmentTokens(r: Routed, seg: Segment | null): TokenCounts {
  return tokensFromUsage(seg?.usage ?? undefined, {
    promptChars: r.parsed.promptChars + (seg?.extraPromptChars ?? 0),
    completionChars: seg?.chars ?? 0,
  });
}

/** A continued stream's usage: every attempt's, as billed. */
function summedUsage(segments: Segment[], tokens: TokenCounts[]): Usage {
  const prompt = tokens.reduce((n, t) => n + t.input, 0);
  const completion = tokens.reduce((n, t) => n + t.output, 0);
  const cached = segments.reduce((n, s) => n + (s.usage?.prompt_tokens_details?.cached_tokens ?? 0), 0);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cached },
  };
}

function continuation(c: NonNullable<StreamSession["continued"]>): string {
  return `from=${c.from.id}; to=${c.to.id}; reason=${c.reason}`;
}

/** The `x_routewise` object of the final usage chunk; a continued stream says so and lists every billed attempt. */
function routewiseSummary(r: Routed, provider: ProviderConfig, tokens: TokenCounts, costs: Costs, s: StreamSession) {
  const summary = baseSummary(r, provider, tokens, costs);
  if (!s.continued) return summary;
  return {
    ...summary,
    continued: { from: s.continued.from.id, to: s.continued.to.id, reason: s.continued.reason },
    attempts: costs.attempts.map((a) => ({
      provider: a.provider.id,
      model: a.provider.model,
      cost_usd: Number(formatUSD(a.cost)),
      usage_estimated: a.estimated,
    })),
  };
}
