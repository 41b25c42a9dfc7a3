/**
 * POST /v1/chat/completions: route the request (route-request.ts) → dispatch with retries and fallbacks → answer
 * as JSON or as a relayed SSE stream. Every number about the request goes to its record (router/accounting).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Costs, RequestRecord, RequestRecorder } from "../accounting/request-record.js";
import { tokensFromUsage, type TokenCounts } from "../accounting/cost.js";
import { scopedSignal } from "../dispatch/abort.js";
import { clientError, lastTried } from "../dispatch/client-error.js";
import { relaySession, type Segment, type StreamSession } from "../dispatch/continuation.js";
import {
  dispatchCompletion,
  fellBackFrom,
  type DispatchContext,
  type DispatchDeps,
  type DispatchResult,
} from "../dispatch/dispatch.js";
import { dispatchStream } from "../dispatch/stream.js";
import type { RouteConfig, ProviderConfig } from "../config/types.js";
import { errorBody, HttpError } from "../openai/errors.js";
import type { Usage } from "../openai/types.js";
import { answerOf } from "../evaluation/evaluator.js";
import type { EvaluationCase } from "../evaluation/plan.js";
import type { Answer } from "../evaluation/structural.js";
import { FEEDBACK_TOKEN_HEADER, feedbackToken, type FeedbackDeps } from "./feedback.js";
import { formatUSD, setRoutingHeaders } from "./headers.js";
import { sendJson } from "./respond.js";
import { routeRequest, type Routed, type RoutingDeps } from "./route-request.js";
import { eventSink, startEventStream, writeDone, writeEvent } from "./sse.js";

export interface ChatDeps extends RoutingDeps {
  dispatch: DispatchDeps;
  /** Opens the record of one request. */
  record: RequestRecorder;
  /** Signs every answer's feedback token. */
  feedback: FeedbackDeps;
  /** Judge sampling: told about each answered request once its client response has ended (never awaited). */
  evaluate: (c: EvaluationCase) => void;
}

/** The handler for a request whose body has been read and parsed as JSON (`body`). */
export type ChatHandler = (req: IncomingMessage, res: ServerResponse, body: unknown) => Promise<void>;

export function createChatHandler(deps: ChatDeps): ChatHandler {
  return async (req, res, body) => {
    const record = deps.record(res.getHeader("x-request-id") as string);
    try {
      const routed = await routeRequest(deps, req, body, record);
      await (routed.parsed.stream
        ? serveStream(deps, res, routed, record)
        : serveCompletion(deps, res, routed, record));
    } finally {
      record.end();
    }
  };
}

type Dispatcher<T> = (deps: DispatchDeps, ctx: DispatchContext) => Promise<DispatchResult<T>>;

/** Dispatches along the decided order; when every attempt failed, records it and throws the client error. */
async function dispatchOrThrow<T>(
  deps: ChatDeps,
  res: ServerResponse,
  r: Routed,
  record: RequestRecord,
  dispatch: Dispatcher<T>,
) {
  const signal = requestSignal(res, r.route);
  const { order } = r.selection;
  const ctx = { route: r.route, order, request: r.parsed.body, requestId: record.requestId, signal, record };
  const result = await dispatch(deps.dispatch, ctx);
  if (result.ok) return { ...result, ctx };
  const { error, outcome } = clientError(r.route, order, result);
  record.failed({ provider: lastTried(order, result.failures, r.selection.decided), code: outcome });
  throw error;
}

async function serveCompletion(deps: ChatDeps, res: ServerResponse, r: Routed, record: RequestRecord) {
  const result = await dispatchOrThrow(deps, res, r, record, dispatchCompletion);
  const body = result.value;
  const completionChars = JSON.stringify(body.choices).length;
  const tokens = tokensFromUsage(body.usage, { promptChars: r.parsed.promptChars, completionChars });
  const fallbacks = fellBackFrom(result).length;
  const costs = record.finished({ provider: result.provider, tokens, outcome: "success", fallbacks });
  setRoutingHeaders(res, r.route, r.selection, result);
  res.setHeader("x-routewise-cost-usd", formatUSD(costs.cost));
  res.setHeader("x-routewise-baseline-cost-usd", formatUSD(costs.baseline));
  res.setHeader(FEEDBACK_TOKEN_HEADER, tokenFor(deps, r, result.provider, record));
  if (tokens.estimated) res.setHeader("x-routewise-usage-estimated", "true");
  evaluateAfterResponse(res, deps, r, record.requestId, { provider: result.provider, answer: answerOf(body) });
  sendJson(res, 200, body);
}

function tokenFor(deps: ChatDeps, r: Routed, provider: ProviderConfig, record: RequestRecord): string {
  const a = { route: r.route, provider, reason: r.selection.reason, requestId: record.requestId };
  return feedbackToken(deps.feedback, a);
}

/** Hands the answered request to judge sampling once the client's response has ended (ADR 10). */
function evaluateAfterResponse(
  res: ServerResponse,
  deps: ChatDeps,
  r: Routed,
  requestId: string,
  answered: { provider: ProviderConfig; answer: Answer },
): void {
  if (!r.route.evaluation) return; // the hot path of routes without judge sampling stays as it was
  const { selection } = r;
  const c: EvaluationCase = {
    route: r.route,
    requestId,
    request: r.parsed.body,
    jsonMode: r.parsed.needsJson,
    arm: selection.arm,
    reason: selection.reason,
    answered: answered.provider,
    answer: answered.answer,
    decided: selection.decided,
    baseline: selection.baseline,
  };
  res.once("finish", () => {
    deps.evaluate(c);
  });
}

async function serveStream(deps: ChatDeps, res: ServerResponse, r: Routed, record: RequestRecord) {
  const result = await dispatchOrThrow(deps, res, r, record, dispatchStream);
  setRoutingHeaders(res, r.route, r.selection, result);
  startEventStream(res);
  const session = await relaySession(deps.dispatch, result.ctx, result, eventSink(res));
  const billed = session.segments.map((seg) => ({ provider: seg.provider, tokens: segmentTokens(r, seg) }));
  const last = billed[billed.length - 1] ?? { provider: result.provider, tokens: segmentTokens(r, null) };
  const costs = record.finished({
    provider: last.provider,
    tokens: last.tokens,
    outcome: session.error ? "stream_error" : session.clientGone ? "client_closed" : "success",
    fallbacks: fellBackFrom(result).length + billed.length - 1,
    earlier: billed.slice(0, -1),
    ...(session.error ? { streamError: session.error.message } : {}),
  });
  const token = tokenFor(deps, r, last.provider, record);
  if (session.error === null && session.usageChunk && r.parsed.includeUsage)
    writeUsage(res, r, session, { last, tokens: billed.map((b) => b.tokens), costs, token });
  if (session.error === null && !session.clientGone) {
    const answer = { text: session.text, toolCalls: session.toolCalls };
    evaluateAfterResponse(res, deps, r, record.requestId, { provider: last.provider, answer });
  }
  endStream(res, session, costs, token);
}

/** The final usage chunk: the answering provider's, with cost; a continued stream's sums every attempt's. */
function writeUsage(
  res: ServerResponse,
  r: Routed,
  session: StreamSession,
  b: { last: { provider: ProviderConfig; tokens: TokenCounts }; tokens: TokenCounts[]; costs: Costs; token: string },
): void {
  const usageChunk = session.usageChunk ?? {};
  const chunk = session.continued
    ? { ...usageChunk, id: session.id, usage: summedUsage(session.segments, b.tokens) }
    : usageChunk;
  const summary = routewiseSummary(r, b.last.provider, b.last.tokens, b.costs, session);
  writeEvent(res, { ...chunk, x_routewise: { ...summary, feedback_token: b.token } });
}

/** The error event or [DONE], then the cost, feedback token (and continuation) trailers. */
function endStream(res: ServerResponse, session: StreamSession, costs: Costs, token: string): void {
  if (session.error !== null) {
    const failed = session.segments[session.segments.length - 1]?.provider;
    const message = `upstream ${failed?.id ?? ""} failed mid-stream: ${session.error.message}`;
    writeEvent(res, errorBody(new HttpError(502, message, "api_error", "upstream_stream_error")));
  } else if (!session.clientGone) writeDone(res);
  res.addTrailers({
    "x-routewise-cost-usd": formatUSD(costs.cost),
    "x-routewise-baseline-cost-usd": formatUSD(costs.baseline),
    [FEEDBACK_TOKEN_HEADER]: token,
    ...(session.continued ? { "x-routewise-continuation": continuation(session.continued) } : {}),
  });
  res.end();
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

/** Aborted when the client disconnects or the route's total timeout passes. */
function requestSignal(res: ServerResponse, route: RouteConfig): AbortSignal {
  const scoped = scopedSignal(null, route.timeouts.requestMs);
  res.once("close", () => {
    if (!res.writableFinished) scoped.abort(new Error("client disconnected"));
    scoped.dispose();
  });
  return scoped.signal;
}

/** The `x_routewise` object of the final usage chunk; a continued stream says so and lists every billed attempt. */
function routewiseSummary(r: Routed, provider: ProviderConfig, tokens: TokenCounts, costs: Costs, s: StreamSession) {
  const summary = {
    route: r.route.name,
    provider: provider.id,
    model: provider.model,
    decision: r.selection.explanation,
    cost_usd: Number(formatUSD(costs.cost)),
    baseline_cost_usd: Number(formatUSD(costs.baseline)),
    usage_estimated: costs.attempts.some((a) => a.estimated) || tokens.estimated,
  };
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
