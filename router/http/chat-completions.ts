/**
 * POST /v1/chat/completions: route the request (route-request.ts) → dispatch with retries and fallbacks → answer
 * as JSON or as a relayed SSE stream. Every number about the request goes to its record (router/accounting).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Costs, RequestRecord, RequestRecorder } from "../accounting/request-record.js";
import { tokensFromUsage, type TokenCounts } from "../accounting/cost.js";
import { scopedSignal } from "../dispatch/abort.js";
import { clientError, lastTried } from "../dispatch/client-error.js";
import {
  dispatchCompletion,
  dispatchStream,
  fellBackFrom,
  type DispatchContext,
  type DispatchDeps,
  type DispatchResult,
} from "../dispatch/dispatch.js";
import { relayStream } from "../dispatch/relay.js";
import type { RouteConfig, ProviderConfig } from "../config/types.js";
import { errorBody, HttpError } from "../openai/errors.js";
import { formatUSD, setRoutingHeaders } from "./headers.js";
import { sendJson } from "./respond.js";
import { routeRequest, type Routed, type RoutingDeps } from "./route-request.js";
import { eventSink, startEventStream, writeDone, writeEvent } from "./sse.js";

export interface ChatDeps extends RoutingDeps {
  dispatch: DispatchDeps;
  /** Opens the record of one request. */
  record: RequestRecorder;
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
  if (result.ok) return { ...result, signal };
  const error = clientError(r.route, order, result);
  record.failed({
    provider: lastTried(order, result.failures, r.selection.decided),
    code: error.code ?? "upstream_error",
  });
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
  if (tokens.estimated) res.setHeader("x-routewise-usage-estimated", "true");
  sendJson(res, 200, body);
}

async function serveStream(deps: ChatDeps, res: ServerResponse, r: Routed, record: RequestRecord) {
  const result = await dispatchOrThrow(deps, res, r, record, dispatchStream);
  const { provider, signal } = result;
  setRoutingHeaders(res, r.route, r.selection, result);
  startEventStream(res);
  const relay = await relayStream(result.value, eventSink(res), signal);
  const tokens = tokensFromUsage(relay.usage, { promptChars: r.parsed.promptChars, completionChars: relay.chars });
  const costs = record.finished({
    provider,
    tokens,
    outcome: relay.error ? "stream_error" : relay.clientGone ? "client_closed" : "success",
    fallbacks: fellBackFrom(result).length,
    ...(relay.error ? { streamError: relay.error.message } : {}),
  });
  if (relay.error === null && relay.usageChunk && r.parsed.includeUsage) {
    writeEvent(res, { ...relay.usageChunk, x_routewise: routewiseSummary(r, provider, tokens, costs) });
  }
  if (relay.error !== null) {
    const message = `upstream ${provider.id} failed mid-stream: ${relay.error.message}`;
    writeEvent(res, errorBody(new HttpError(502, message, "api_error", "upstream_stream_error")));
  } else if (!relay.clientGone) writeDone(res);
  res.addTrailers({
    "x-routewise-cost-usd": formatUSD(costs.cost),
    "x-routewise-baseline-cost-usd": formatUSD(costs.baseline),
  });
  res.end();
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

/** The `x_routewise` object of the final usage chunk. */
function routewiseSummary(r: Routed, provider: ProviderConfig, tokens: TokenCounts, costs: Costs) {
  return {
    route: r.route.name,
    provider: provider.id,
    model: provider.model,
    decision: r.selection.explanation,
    cost_usd: Number(formatUSD(costs.cost)),
    baseline_cost_usd: Number(formatUSD(costs.baseline)),
    usage_estimated: tokens.estimated,
  };
}
