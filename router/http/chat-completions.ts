/**
 * POST /v1/chat/completions: route the request (route-request.ts) → dispatch with retries and fallbacks → answer
 * as JSON or as a relayed SSE stream. Every number about the request goes to its record (router/accounting).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { BilledAttempt, Costs, RequestRecord, RequestRecorder } from "../accounting/request-record.js";
import { tokensFromUsage, type TokenCounts } from "../accounting/cost.js";
import { scopedSignal } from "../dispatch/abort.js";
import { clientError, lastTried } from "../dispatch/client-error.js";
import { relaySession, type Segment, type StreamSession } from "../dispatch/continuation.js";
import {
  dispatchCompletion,
  fellBackFrom,
  type AttemptFailure,
  type DispatchContext,
  type DispatchDeps,
  type DispatchResult,
} from "../dispatch/dispatch.js";
import { describeCascade, runCascade } from "../dispatch/cascade.js";
import { dispatchStream } from "../dispatch/stream.js";
import { completionChunks } from "../openai/chunks.js";
import { OPENAI_INGRESS, type AnswerWriter, type Ingress } from "./answer-writer.js";
import type { RouteConfig, ProviderConfig } from "../config/types.js";
import { HttpError } from "../openai/errors.js";
import type { ChatCompletion, ChatCompletionChunk, Usage } from "../openai/types.js";
import { answerOf } from "../evaluation/evaluator.js";
import type { EvaluationCase } from "../evaluation/plan.js";
import type { Answer } from "../evaluation/structural.js";
import { FEEDBACK_TOKEN_HEADER, feedbackToken, type FeedbackDeps } from "./feedback.js";
import { formatUSD, setRoutingHeaders, traceContext } from "./headers.js";
import { routeRequest, type Routed, type RoutingDeps } from "./route-request.js";

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

/** POST /v1/chat/completions, or another wire format's endpoint given its Ingress (POST /v1/responses, /v1/messages). */
export function createChatHandler(deps: ChatDeps, ingress: Ingress = OPENAI_INGRESS): ChatHandler {
  return async (req, res, body) => {
    const record = deps.record(res.getHeader("x-request-id") as string, traceContext(req));
    record.describe({ endpoint: ingress.endpoint });
    try {
      const routed = await routeRequest(deps, req, ingress.request(body), record);
      await serve(deps, { res, w: ingress.writer(res, routed, body) }, routed, record);
    } catch (err) {
      rejectedIn(record, err);
      throw err;
    } finally {
      record.end();
    }
  };
}

/** The access-log line of a request that got an error instead of an answer. */
export function rejectedIn(record: RequestRecord, err: unknown): void {
  if (err instanceof HttpError) record.rejected(err.status, err.code ?? err.type);
  else record.rejected(500, "internal_error");
}

/** The client's response and the writer of its wire format. */
interface Out {
  res: ServerResponse;
  w: AnswerWriter;
}

type Dispatcher<T> = (deps: DispatchDeps, ctx: DispatchContext) => Promise<DispatchResult<T>>;

/**
 * What happened before the route's normal choice answers: a cascade's escalated stages (billed to the request,
 * named in x-routewise-decision). NO_PRIOR for every other request.
 */
interface Prior {
  signal: AbortSignal;
  cascade: BilledAttempt[];
  /** Prefixed to x-routewise-decision, or "". */
  note: string;
}

/** Cascade first when the route has one and the policy decided (ADR 11), then the route's normal choice. */
async function serve(deps: ChatDeps, out: Out, r: Routed, record: RequestRecord): Promise<void> {
  const signal = requestSignal(out.res, r.route);
  let prior: Prior = { signal, cascade: [], note: "" };
  const plan = cascadePlan(r);
  if (plan) {
    const ctx = {
      route: r.route,
      order: [],
      request: r.parsed.body,
      requestId: record.requestId,
      signal,
      record,
    };
    const outcome = await runCascade(deps.dispatch, { ...plan, ctx, promptChars: r.parsed.promptChars });
    prior = { signal, cascade: outcome.billed, note: `${describeCascade(outcome.trail, r.parsed.stream)}; ` };
    const { accepted } = outcome;
    if (accepted) {
      const answered = { provider: accepted.provider, value: accepted.completion, failures: accepted.failures, prior };
      serveAccepted(deps, out, r, record, answered);
      return;
    }
  }
  await (r.parsed.stream ? serveStream(deps, out, r, record, prior) : serveCompletion(deps, out, r, record, prior));
}

/** The selection as x-routewise-decision reports it, with what the cascade did first. */
function withNote(r: Routed, prior: Prior): Routed["selection"] {
  return prior.note === "" ? r.selection : { ...r.selection, explanation: `${prior.note}${r.selection.explanation}` };
}

/** Dispatches along the decided order; when every attempt failed, records it and throws the client error. */
async function dispatchOrThrow<T>(
  deps: ChatDeps,
  r: Routed,
  record: RequestRecord,
  dispatch: Dispatcher<T>,
  signal: AbortSignal,
) {
  const { order } = r.selection;
  const ctx = {
    route: r.route,
    order,
    request: r.parsed.body,
    requestId: record.requestId,
    signal,
    record,
  };
  const result = await dispatch(deps.dispatch, ctx);
  if (result.ok) return { ...result, ctx };
  const { error, outcome } = clientError(r.route, order, result);
  record.failed({ provider: lastTried(order, result.failures, r.selection.decided), code: outcome });
  throw error;
}

async function serveCompletion(deps: ChatDeps, out: Out, r: Routed, record: RequestRecord, prior: Prior) {
  const result = await dispatchOrThrow(deps, r, record, dispatchCompletion, prior.signal);
  respondCompletion(deps, out, r, record, {
    provider: result.provider,
    value: result.value,
    failures: result.failures,
    prior,
  });
}

interface Answered {
  provider: ProviderConfig;
  value: ChatCompletion;
  failures: AttemptFailure[];
  prior: Prior;
}

/** A completion to the client as JSON: record, routing and cost headers, the feedback token, judge sampling. */
function respondCompletion(deps: ChatDeps, out: Out, r: Routed, record: RequestRecord, a: Answered) {
  const { res } = out;
  const body = a.value;
  const tokens = completionTokens(r, body);
  const fallbacks = fellBackFrom(a).length;
  const costs = record.finished({
    provider: a.provider,
    tokens,
    outcome: "success",
    fallbacks,
    cascade: a.prior.cascade,
  });
  setRoutingHeaders(res, r.route, withNote(r, a.prior), a);
  res.setHeader("x-routewise-cost-usd", formatUSD(costs.cost));
  res.setHeader("x-routewise-baseline-cost-usd", formatUSD(costs.baseline));
  res.setHeader(FEEDBACK_TOKEN_HEADER, tokenFor(deps, r, a.provider, record));
  if (tokens.estimated) res.setHeader("x-routewise-usage-estimated", "true");
  evaluateAfterResponse(res, deps, r, record.requestId, { provider: a.provider, answer: answerOf(body) });
  out.w.json(body, tokens);
}

function completionTokens(r: Routed, body: ChatCompletion): TokenCounts {
  const completionChars = JSON.stringify(body.choices).length;
  return tokensFromUsage(body.usage, { promptChars: r.parsed.promptChars, completionChars });
}

/** A cascade stage's accepted answer: as JSON, or replayed as a stream to a client that asked for one. */
function serveAccepted(deps: ChatDeps, out: Out, r: Routed, record: RequestRecord, a: Answered): void {
  if (!r.parsed.stream) {
    respondCompletion(deps, out, r, record, a);
    return;
  }
  const { res } = out;
  const tokens = completionTokens(r, a.value);
  const fallbacks = fellBackFrom(a).length;
  const costs = record.finished({
    provider: a.provider,
    tokens,
    outcome: "success",
    fallbacks,
    cascade: a.prior.cascade,
  });
  const selection = withNote(r, a.prior);
  setRoutingHeaders(res, r.route, selection, a);
  const token = tokenFor(deps, r, a.provider, record);
  const sink = out.w.stream();
  for (const chunk of completionChunks(a.value)) sink.write(chunk);
  const summary = { ...baseSummary(r, a.provider, tokens, costs), decision: selection.explanation };
  const usageChunk = { ...usageOnlyChunk(a.value), x_routewise: { ...summary, feedback_token: token } };
  evaluateAfterResponse(res, deps, r, record.requestId, { provider: a.provider, answer: answerOf(a.value) });
  out.w.end({ error: null, usageChunk, tokens, clientGone: false });
  res.addTrailers({
    "x-routewise-cost-usd": formatUSD(costs.cost),
    "x-routewise-baseline-cost-usd": formatUSD(costs.baseline),
    [FEEDBACK_TOKEN_HEADER]: token,
  });
  res.end();
}

function usageOnlyChunk(c: ChatCompletion): ChatCompletionChunk {
  return {
    id: c.id,
    object: "chat.completion.chunk",
    created: c["created"],
    model: c.model,
    choices: [],
    usage: c.usage ?? null,
  };
}

/**
 * The stages this request tries: the route's cascade stages that selection left usable for it (capable, healthy,
 * not excluded), cheaper than the provider the route would choose, which answers after them. None when the
 * request went to the baseline by rollout, was pinned, or a rule decided.
 */
function cascadePlan(r: Routed) {
  const cascade = r.route.strategy === "cascade" ? r.route.cascade : null;
  const chosen = r.selection.order[0];
  if (!cascade || !chosen || r.selection.arm !== "policy" || r.task === null || r.selection.reason.startsWith("rule:"))
    return null;
  const usable = new Map(r.selection.order.map((p) => [p.id, p]));
  const stages = cascade.stages.flatMap((id) => {
    const p = usable.get(id);
    return p && p.id !== chosen.id && price(p) < price(chosen) ? [p] : [];
  });
  if (stages.length === 0) return null;
  const judge = cascade.judge === null ? null : (r.providers.get(cascade.judge) ?? null);
  return { cascade, stages, judge, task: r.task };
}

function price(p: ProviderConfig): number {
  return p.pricing.inputPerMillion + p.pricing.outputPerMillion;
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

async function serveStream(deps: ChatDeps, out: Out, r: Routed, record: RequestRecord, prior: Prior) {
  const { res } = out;
  const result = await dispatchOrThrow(deps, r, record, dispatchStream, prior.signal);
  setRoutingHeaders(res, r.route, withNote(r, prior), result);
  const session = await relaySession(deps.dispatch, result.ctx, result, out.w.stream());
  const billed = session.segments.map((seg) => ({ provider: seg.provider, tokens: segmentTokens(r, seg) }));
  const last = billed[billed.length - 1] ?? { provider: result.provider, tokens: segmentTokens(r, null) };
  const costs = record.finished({
    provider: last.provider,
    tokens: last.tokens,
    outcome: session.error ? "stream_error" : session.clientGone ? "client_closed" : "success",
    fallbacks: fellBackFrom(result).length + billed.length - 1,
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
    evaluateAfterResponse(res, deps, r, record.requestId, { provider: last.provider, answer });
  }
  out.w.end({ error: streamError(session), usageChunk, tokens: summedTokens(tokens), clientGone: session.clientGone });
  endStream(res, session, costs, token);
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

/** The cost, feedback token (and continuation) trailers, after the writer's last events. */
function endStream(res: ServerResponse, session: StreamSession, costs: Costs, token: string): void {
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
export function requestSignal(res: ServerResponse, route: RouteConfig): AbortSignal {
  const scoped = scopedSignal(null, route.timeouts.requestMs);
  res.once("close", () => {
    if (!res.writableFinished) scoped.abort(new Error("client disconnected"));
    scoped.dispose();
  });
  return scoped.signal;
}

function baseSummary(r: Routed, provider: ProviderConfig, tokens: TokenCounts, costs: Costs) {
  return {
    route: r.route.name,
    provider: provider.id,
    model: provider.model,
    decision: r.selection.explanation,
    cost_usd: Number(formatUSD(costs.cost)),
    baseline_cost_usd: Number(formatUSD(costs.baseline)),
    usage_estimated: costs.attempts.some((a) => a.estimated) || tokens.estimated,
  };
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
