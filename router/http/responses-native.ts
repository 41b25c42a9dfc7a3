/**
 * POST /v1/responses answered along the decided order, provider by provider (dispatch/responses.ts): a provider
 * that speaks the Responses API natively gets the client's request and its answer is relayed as it came — the
 * response object as JSON, or the upstream's events one by one — while one that speaks only chat gets the
 * translation and its answer is written by the Responses writer (responses.ts), exactly as before. Either way the
 * pipeline's headers, billing, access-log line, feedback token and judge sampling are the chat pipeline's. A native
 * stream's terminal event carries the `x_routewise` summary, like the translated one; a native stream that breaks
 * after it began ends with the router's own `response.failed` (code upstream_stream_error), never a truncated 200.
 */
import { tokensFromUsage } from "../accounting/cost.js";
import type { RequestRecord } from "../accounting/request-record.js";
import { relaySession } from "../dispatch/continuation.js";
import { fellBackFrom, type AttemptFailure } from "../dispatch/dispatch.js";
import { dispatchResponse, dispatchResponseStream, relayEvents } from "../dispatch/responses.js";
import type { OpenStream } from "../dispatch/stream.js";
import type { ProviderConfig } from "../config/types.js";
import {
  answerChars,
  answerOfResponse,
  ResponseEventTally,
  usageOfResponse,
  type ResponsesEvent,
} from "../openai/responses-native.js";
import type { JsonObject } from "../openai/types.js";
import {
  baseSummary,
  costHeaders,
  evaluateAfterResponse,
  tokenFor,
  withNote,
  type ChatDeps,
  type Out,
  type Prior,
} from "./answered.js";
import { dispatchOrThrow, type Answerer } from "./chat-completions.js";
import { respondCompletion, signAnswer } from "./completion-answer.js";
import { setRoutingHeaders } from "./headers.js";
import { sendJson } from "./respond.js";
import type { Routed } from "./route-request.js";
import { startEventStream, writeNamedEvent, writeRawEvent } from "./sse.js";
import { finishStream } from "./stream-answer.js";

/** The Answerer of POST /v1/responses (its body was checked to be an object by the translation). */
export const answerResponses: Answerer = (deps, out, r, record, prior) =>
  r.parsed.stream ? streamResponse(deps, out, r, record, prior) : completeResponse(deps, out, r, record, prior);

async function completeResponse(deps: ChatDeps, out: Out, r: Routed, record: RequestRecord, prior: Prior) {
  const body = out.body as JsonObject;
  const result = await dispatchOrThrow(deps, r, record, (d, ctx) => dispatchResponse(d, ctx, body), prior.lifetime);
  const { provider, failures, value } = result;
  if (value.api === "chat") {
    respondCompletion(deps, out, r, record, { provider, value: value.completion, failures, prior });
    return;
  }
  const answer = answerOfResponse(value.response);
  const estimate = { promptChars: r.parsed.promptChars, completionChars: answerChars(answer) };
  const tokens = tokensFromUsage(usageOfResponse(value.response), estimate);
  const answered = { provider, failures, prior };
  signAnswer(deps, out, { r, record, answered, tokens, answer, upstreamApi: "responses" });
  sendJson(out.res, 200, value.response);
}

async function streamResponse(deps: ChatDeps, out: Out, r: Routed, record: RequestRecord, prior: Prior) {
  const body = out.body as JsonObject;
  const result = await dispatchOrThrow(
    deps,
    r,
    record,
    (d, ctx) => dispatchResponseStream(d, ctx, body),
    prior.lifetime,
  );
  setRoutingHeaders(out.res, r.route, withNote(r, prior), result);
  const { provider, failures, value } = result;
  const call = { r, record, prior, opened: { provider, failures } };
  if (value.api === "responses") {
    await relayNative(deps, out, call, value.stream);
    return;
  }
  const session = await relaySession(
    deps.dispatch,
    result.ctx,
    { provider, failures, value: value.stream },
    out.w.stream(),
  );
  finishStream(deps, out, call, session);
}

interface NativeCall {
  r: Routed;
  record: RequestRecord;
  prior: Prior;
  opened: { provider: ProviderConfig; failures: AttemptFailure[] };
}

/** Relays a committed native stream, then bills it and ends it: the terminal event with the summary, or a failure. */
async function relayNative(deps: ChatDeps, out: Out, call: NativeCall, stream: OpenStream<ResponsesEvent>) {
  const { res } = out;
  const { r, record, prior, opened } = call;
  const { provider } = opened;
  startEventStream(res);
  const tally = new ResponseEventTally();
  const sink = {
    write: (e: ResponsesEvent) => {
      tally.observe(e);
      writeRawEvent(res, e.type, e.data);
    },
    gone: () => res.destroyed,
  };
  const { terminal, error, clientGone } = await relayEvents(stream, sink, prior.lifetime);
  if (terminal) tally.observe(terminal);
  const answer = tally.answer();
  const estimate = { promptChars: r.parsed.promptChars, completionChars: answerChars(answer) };
  const tokens = tokensFromUsage(tally.usage(), estimate);
  const costs = record.finished({
    provider,
    tokens,
    outcome: error ? "stream_error" : clientGone ? "client_closed" : "success",
    fallbacks: fellBackFrom(opened).length,
    cascade: prior.cascade,
    upstreamApi: "responses",
    ...(error ? { streamError: error.message } : {}),
  });
  const token = tokenFor(deps, r, provider, record);
  if (error) {
    const message = `upstream ${provider.id} failed mid-stream: ${error.message}`;
    writeNamedEvent(res, "response.failed", tally.failed("upstream_stream_error", message));
  } else if (terminal && !clientGone) {
    evaluateAfterResponse(res, deps, r, record.requestId, { provider, answer });
    const summary = { ...baseSummary(r, provider, tokens, costs), decision: withNote(r, prior).explanation };
    writeNamedEvent(res, terminal.type, { ...terminal.value, x_routewise: { ...summary, feedback_token: token } });
  }
  res.addTrailers(costHeaders(costs, token, r.budget));
  res.end();
}
