/**
 * POST /v1/chat/completions: route the request (route-request.ts) → a cascade's cheap stages first when the route
 * has one (cascade-plan.ts) → dispatch with retries and fallbacks → answer as JSON (completion-answer.ts) or as a
 * relayed SSE stream (stream-answer.ts). Every number about the request goes to its record (router/accounting).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestRecord } from "../accounting/request-record.js";
import { RequestLifetime } from "../dispatch/abort.js";
import { clientError, lastTried } from "../dispatch/client-error.js";
import { relaySession } from "../dispatch/continuation.js";
import {
  dispatchCompletion,
  type DispatchContext,
  type DispatchDeps,
  type DispatchResult,
} from "../dispatch/dispatch.js";
import { describeCascade, runCascade } from "../dispatch/cascade.js";
import { dispatchStream } from "../dispatch/stream.js";
import type { RouteConfig } from "../config/types.js";
import { HttpError } from "../openai/errors.js";
import { OPENAI_INGRESS, type Ingress } from "./answer-writer.js";
import { withNote, type ChatDeps, type Out, type Prior } from "./answered.js";
import { cascadePlan } from "./cascade-plan.js";
import { respondCompletion, serveAccepted } from "./completion-answer.js";
import { setRoutingHeaders, traceContext } from "./headers.js";
import { routeRequest, type Routed } from "./route-request.js";
import { finishStream } from "./stream-answer.js";

export type { ChatDeps } from "./answered.js";

/** The handler for a request whose body has been read and parsed as JSON (`body`). */
export type ChatHandler = (req: IncomingMessage, res: ServerResponse, body: unknown) => Promise<void>;

/** How a routed request is answered once a cascade (if any) escalated: dispatch along the order, then the answer. */
export type Answerer = (deps: ChatDeps, out: Out, r: Routed, record: RequestRecord, prior: Prior) => Promise<void>;

/**
 * POST /v1/chat/completions, or another wire format's endpoint given its Ingress (POST /v1/responses, /v1/messages)
 * and, when it dispatches differently (/v1/responses to providers that speak it natively), its Answerer.
 */
export function createChatHandler(
  deps: ChatDeps,
  ingress: Ingress = OPENAI_INGRESS,
  answer: Answerer = answerChat,
): ChatHandler {
  return async (req, res, body) => {
    const record = deps.record(res.getHeader("x-request-id") as string, traceContext(req));
    record.describe({ endpoint: ingress.endpoint });
    try {
      const routed = await routeRequest(deps, req, ingress.request(body), record);
      await serve(deps, { res, w: ingress.writer(res, routed, body), body }, routed, record, answer);
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

export type Dispatcher<T> = (deps: DispatchDeps, ctx: DispatchContext) => Promise<DispatchResult<T>>;

/** Cascade first when the route has one and the policy decided (ADR 11), then the route's normal choice. */
async function serve(deps: ChatDeps, out: Out, r: Routed, record: RequestRecord, answer: Answerer): Promise<void> {
  const lifetime = requestLifetime(out.res, r.route);
  let prior: Prior = { lifetime, cascade: [], note: "" };
  const plan = cascadePlan(r);
  if (plan) {
    const ctx = { route: r.route, order: [], request: r.parsed.body, requestId: record.requestId, lifetime, record };
    const outcome = await runCascade(deps.dispatch, { ...plan, ctx, promptChars: r.parsed.promptChars });
    prior = { lifetime, cascade: outcome.billed, note: `${describeCascade(outcome.trail, r.parsed.stream)}; ` };
    const { accepted } = outcome;
    if (accepted) {
      const answered = { provider: accepted.provider, value: accepted.completion, failures: accepted.failures, prior };
      serveAccepted(deps, out, r, record, answered);
      return;
    }
  }
  await answer(deps, out, r, record, prior);
}

/** The chat pipeline's answer: a completion as JSON, or a relayed stream. */
export function answerChat(deps: ChatDeps, out: Out, r: Routed, record: RequestRecord, prior: Prior): Promise<void> {
  return r.parsed.stream ? serveStream(deps, out, r, record, prior) : serveCompletion(deps, out, r, record, prior);
}

/** Dispatches along the decided order; when every attempt failed, records it and throws the client error. */
export async function dispatchOrThrow<T>(
  deps: ChatDeps,
  r: Routed,
  record: RequestRecord,
  dispatch: Dispatcher<T>,
  lifetime: RequestLifetime,
) {
  const { order } = r.selection;
  const ctx = { route: r.route, order, request: r.parsed.body, requestId: record.requestId, lifetime, record };
  const result = await dispatch(deps.dispatch, ctx);
  if (result.ok) return { ...result, ctx };
  const { error, outcome } = clientError(r.route, order, result);
  record.failed({ provider: lastTried(order, result.failures, r.selection.decided), code: outcome });
  throw error;
}

async function serveCompletion(deps: ChatDeps, out: Out, r: Routed, record: RequestRecord, prior: Prior) {
  const result = await dispatchOrThrow(deps, r, record, dispatchCompletion, prior.lifetime);
  respondCompletion(deps, out, r, record, {
    provider: result.provider,
    value: result.value,
    failures: result.failures,
    prior,
  });
}

async function serveStream(deps: ChatDeps, out: Out, r: Routed, record: RequestRecord, prior: Prior) {
  const result = await dispatchOrThrow(deps, r, record, dispatchStream, prior.lifetime);
  setRoutingHeaders(out.res, r.route, withNote(r, prior), result);
  const session = await relaySession(deps.dispatch, result.ctx, result, out.w.stream());
  finishStream(deps, out, { r, record, prior, opened: result }, session);
}

/** Ends when the client disconnects or the route's total timeout passes. */
export function requestLifetime(res: ServerResponse, route: RouteConfig): RequestLifetime {
  const lifetime = new RequestLifetime(route.timeouts.requestMs);
  res.once("close", () => {
    if (!res.writableFinished) lifetime.end(new Error("client disconnected"));
    lifetime.dispose();
  });
  return lifetime;
}
