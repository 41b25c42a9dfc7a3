/**
 * A whole completion to the client: as JSON with the routing and cost headers, or — a cascade stage's accepted
 * answer to a client that asked for a stream — replayed as a stream with the same numbers in its trailers.
 */
import type { TokenCounts } from "../accounting/cost.js";
import type { RequestRecord } from "../accounting/request-record.js";
import { fellBackFrom } from "../dispatch/dispatch.js";
import { completionChunks } from "../openai/chunks.js";
import type { ChatCompletion, ChatCompletionChunk } from "../openai/types.js";
import { answerOf } from "../evaluation/evaluator.js";
import type { Answer } from "../evaluation/structural.js";
import {
  baseSummary,
  completionTokens,
  costHeaders,
  evaluateAfterResponse,
  tokenFor,
  withNote,
  type Answered,
  type ChatDeps,
  type Out,
} from "./answered.js";
import { setRoutingHeaders } from "./headers.js";
import type { Routed } from "./route-request.js";

/** A completion to the client as JSON: record, routing and cost headers, the feedback token, judge sampling. */
export function respondCompletion(deps: ChatDeps, out: Out, r: Routed, record: RequestRecord, a: Answered): void {
  const body = a.value;
  const tokens = completionTokens(r, body);
  signAnswer(deps, out, { r, record, answered: a, tokens, answer: answerOf(body) });
  out.w.json(body, tokens);
}

/** What a whole answer is signed with before its body is sent, whatever its shape (a chat completion, a response). */
export interface Signed {
  r: Routed;
  record: RequestRecord;
  answered: Omit<Answered, "value">;
  tokens: TokenCounts;
  answer: Answer;
  /** Set when the upstream answered in another API than chat completions (a /v1/responses pass-through). */
  upstreamApi?: "responses";
}

/** Bills the answer, sets the routing and cost headers and the feedback token, and schedules judge sampling. */
export function signAnswer(deps: ChatDeps, out: Pick<Out, "res">, s: Signed): void {
  const { res } = out;
  const { r, record, answered: a, tokens } = s;
  const costs = billWhole(record, a, tokens, s.upstreamApi);
  setRoutingHeaders(res, r.route, withNote(r, a.prior), a);
  for (const [name, value] of Object.entries(costHeaders(costs, tokenFor(deps, r, a.provider, record), r.budget)))
    res.setHeader(name, value);
  if (tokens.estimated) res.setHeader("x-routewise-usage-estimated", "true");
  evaluateAfterResponse(res, deps, r, record.requestId, { provider: a.provider, answer: s.answer });
}

/** Records a whole answer's outcome (one record, ADR 7): its tokens, fallbacks and any cascade stages before it. */
function billWhole(record: RequestRecord, a: Omit<Answered, "value">, tokens: TokenCounts, upstreamApi?: "responses") {
  return record.finished({
    provider: a.provider,
    tokens,
    outcome: "success",
    fallbacks: fellBackFrom(a).length,
    cascade: a.prior.cascade,
    ...(upstreamApi === undefined ? {} : { upstreamApi }),
  });
}

/** A cascade stage's accepted answer: as JSON, or replayed as a stream to a client that asked for one. */
export function serveAccepted(deps: ChatDeps, out: Out, r: Routed, record: RequestRecord, a: Answered): void {
  if (!r.parsed.stream) {
    respondCompletion(deps, out, r, record, a);
    return;
  }
  const { res } = out;
  const tokens = completionTokens(r, a.value);
  const costs = billWhole(record, a, tokens);
  const selection = withNote(r, a.prior);
  setRoutingHeaders(res, r.route, selection, a);
  const token = tokenFor(deps, r, a.provider, record);
  const sink = out.w.stream();
  for (const chunk of completionChunks(a.value)) sink.write(chunk);
  const summary = { ...baseSummary(r, a.provider, tokens, costs), decision: selection.explanation };
  const usageChunk = { ...usageOnlyChunk(a.value), x_routewise: { ...summary, feedback_token: token } };
  evaluateAfterResponse(res, deps, r, record.requestId, { provider: a.provider, answer: answerOf(a.value) });
  out.w.end({ error: null, usageChunk, tokens, clientGone: false });
  res.addTrailers(costHeaders(costs, token, r.budget));
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
