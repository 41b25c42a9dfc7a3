/**
 * POST /v1/chat/completions: authenticate → parse → find the route → classify + select → dispatch (with
 * retries and fallbacks) → respond (JSON or SSE) → account cost and quality against the baseline.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Classifier } from "../classify/types.js";
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import { scopedSignal } from "../dispatch/abort.js";
import { costUSD, tokensFromUsage, type TokenCounts } from "../dispatch/accounting.js";
import {
  dispatchCompletion,
  dispatchStream,
  failureReason,
  genAiLabels,
  observeUpstream,
  type AttemptFailure,
  type DispatchContext,
  type DispatchDeps,
  type DispatchResult,
  type OpenStream,
} from "../dispatch/dispatch.js";
import type { RouterMetrics } from "../metrics/metrics.js";
import { UpstreamError, type ChatCompletionChunk, type Usage } from "../providers/types.js";
import { select, type Selection } from "../select/select.js";
import type { Snapshot } from "../config/snapshot.js";
import type { ClientAuth } from "./auth.js";
import { errorBody, HttpError, sendJson } from "./errors.js";
import { parseChatRequest, type ParsedRequest } from "./request.js";

export interface ChatDeps {
  snapshot: () => Snapshot | null;
  classifier: (route: RouteConfig) => Classifier;
  dispatch: DispatchDeps;
  metrics: RouterMetrics;
  logger: Logger;
  auth: ClientAuth | null;
  now: () => number;
  /** High-resolution clock in ms, for routing latency. */
  hrNow: () => number;
}

interface Routed {
  route: RouteConfig;
  selection: Selection;
  parsed: ParsedRequest;
  requestId: string;
  started: number;
}

/** The handler for a request whose body has been read and parsed as JSON (`body`). */
export type ChatHandler = (req: IncomingMessage, res: ServerResponse, body: unknown) => Promise<void>;

/** A request header (lower-cased name), multiple values joined as node does for most headers. */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(", ") : v;
}

export function createChatHandler(deps: ChatDeps): ChatHandler {
  return async (req, res, body) => {
    const started = deps.now();
    const requestId = res.getHeader("x-request-id") as string;
    deps.metrics.inflight.inc();
    try {
      const routed = await route(deps, req, body, requestId, started);
      await (routed.parsed.stream ? serveStream(deps, res, routed) : serveCompletion(deps, res, routed));
    } finally {
      deps.metrics.inflight.dec();
    }
  };
}

async function route(
  deps: ChatDeps,
  req: IncomingMessage,
  body: unknown,
  requestId: string,
  started: number,
): Promise<Routed> {
  const snap = deps.snapshot();
  if (!snap) throw new HttpError(503, "the router has no config yet", "api_error", "not_ready");
  const principal = deps.auth?.authenticate((n) => header(req, n)) ?? null;
  const parsed = parseChatRequest(body);
  const model = parsed.body.model;
  const direct = snap.routes.has(model) ? undefined : snap.direct.get(model);
  const routeConfig = snap.routes.get(model) ?? direct?.route;
  if (!routeConfig) {
    throw new HttpError(
      404,
      `The model ${JSON.stringify(model)} does not exist (see GET /v1/models)`,
      "invalid_request_error",
      "model_not_found",
      "model",
    );
  }
  if (principal && !principal.allows(routeConfig.name)) {
    throw new HttpError(
      403,
      `this API key may not use model ${JSON.stringify(model)}`,
      "permission_error",
      "model_not_allowed",
      "model",
    );
  }
  const t0 = deps.hrNow();
  const selection = direct
    ? pinnedSelection(snap, routeConfig, direct.provider)
    : await decide(deps, snap, routeConfig, parsed, req);
  deps.metrics.routingDuration.observe({ route: routeConfig.name }, (deps.hrNow() - t0) / 1000);
  deps.metrics.decisions.inc({ route: routeConfig.name, model: selection.decided.model, reason: selection.reason });
  return { route: routeConfig, selection, parsed, requestId, started };
}

async function decide(
  deps: ChatDeps,
  snap: Snapshot,
  route: RouteConfig,
  parsed: ParsedRequest,
  req: IncomingMessage,
): Promise<Selection> {
  const classification = await deps.classifier(route).classify(parsed.classifyInput);
  const result = select({
    route,
    providers: snap.providers,
    classification,
    request: {
      promptTokens: parsed.promptTokens,
      maxOutputTokens: parsed.maxOutputTokens,
      needsTools: parsed.needsTools,
      needsVision: parsed.needsVision,
      needsJson: parsed.needsJson,
      stream: parsed.stream,
      header: (n) => header(req, n),
      metadata: parsed.metadata,
    },
    health: deps.dispatch.health,
    random: () => deps.dispatch.random(),
  });
  if (!result.ok) {
    const type = result.status === 429 ? "rate_limit_error" : "invalid_request_error";
    const error = new HttpError(result.status, result.message, type, result.code, result.param);
    throw result.status === 429 ? error.withHeaders({ "retry-after": "1" }) : error;
  }
  return result;
}

/** A client addressing a provider's model directly: no routing, that provider only. */
function pinnedSelection(snap: Snapshot, route: RouteConfig, provider: ProviderConfig): Selection {
  const baseline = snap.providers.get(route.baseline) ?? provider;
  return {
    ok: true,
    order: [provider],
    decided: provider,
    reason: "pinned",
    explanation: `pinned; model=${provider.model}`,
    predictedQuality: provider.quality.score,
    predict: (p) => p.quality.score,
    baselineQuality: baseline.quality.score,
    baseline,
  };
}

type Dispatcher<T> = (deps: DispatchDeps, ctx: DispatchContext) => Promise<DispatchResult<T>>;

/** Dispatches along the decided order; when every attempt failed, counts it and throws the client error. */
async function dispatchOrThrow<T>(deps: ChatDeps, res: ServerResponse, r: Routed, dispatch: Dispatcher<T>) {
  const signal = requestSignal(res, r.route);
  const ctx = { route: r.route, order: r.selection.order, request: r.parsed.body, requestId: r.requestId, signal };
  const result = await dispatch(deps.dispatch, ctx);
  if (!result.ok) throw countFailure(deps, r, result.failures, upstreamFailure(r, result.failures, result.fatal));
  return { ...result, signal };
}

async function serveCompletion(deps: ChatDeps, res: ServerResponse, r: Routed): Promise<void> {
  const result = await dispatchOrThrow(deps, res, r, dispatchCompletion);
  const body = result.value;
  const completionChars = JSON.stringify(body.choices).length;
  const tokens = tokensFromUsage(body.usage, { promptChars: r.parsed.promptChars, completionChars });
  const costs = account(deps, r, result.provider, tokens, "success");
  setRoutingHeaders(res, r, result.provider, result.failures);
  res.setHeader("x-routewise-cost-usd", formatUSD(costs.cost));
  res.setHeader("x-routewise-baseline-cost-usd", formatUSD(costs.baseline));
  if (tokens.estimated) res.setHeader("x-routewise-usage-estimated", "true");
  sendJson(res, 200, body);
  logServed(deps, r, { provider: result.provider, failures: result.failures });
}

async function serveStream(deps: ChatDeps, res: ServerResponse, r: Routed): Promise<void> {
  const result = await dispatchOrThrow(deps, res, r, dispatchStream);
  const { provider, signal } = result;
  setRoutingHeaders(res, r, provider, result.failures);
  res.setHeader("content-type", "text/event-stream; charset=utf-8");
  res.setHeader("cache-control", "no-cache");
  res.setHeader("x-accel-buffering", "no");
  res.setHeader("trailer", "x-routewise-cost-usd, x-routewise-baseline-cost-usd");
  res.statusCode = 200;
  res.flushHeaders();
  const relay = await relayStream(res, result.value, signal);
  const tokens = tokensFromUsage(relay.usage, { promptChars: r.parsed.promptChars, completionChars: relay.chars });
  const costs = account(deps, r, provider, tokens, relay.error ? "stream_error" : "success");
  observeUpstream(deps.dispatch, provider, result.value.startedAt, relay.error ? "stream_error" : "success");
  if (relay.error === null && relay.usageChunk && r.parsed.includeUsage) {
    writeEvent(res, { ...relay.usageChunk, x_routewise: routewiseSummary(r, provider, tokens, costs) });
  }
  if (relay.error !== null) {
    writeEvent(
      res,
      errorBody(
        new HttpError(
          502,
          `upstream ${provider.id} failed mid-stream: ${relay.error.message}`,
          "api_error",
          "upstream_stream_error",
        ),
      ),
    );
  } else if (!relay.clientGone) res.write("data: [DONE]\n\n");
  res.addTrailers({
    "x-routewise-cost-usd": formatUSD(costs.cost),
    "x-routewise-baseline-cost-usd": formatUSD(costs.baseline),
  });
  res.end();
  logServed(deps, r, {
    provider,
    failures: result.failures,
    ...(relay.error ? { streamError: relay.error.message } : {}),
  });
}

interface RelayResult {
  usage: Usage | null;
  usageChunk: ChatCompletionChunk | null;
  chars: number;
  error: UpstreamError | null;
  clientGone: boolean;
}

/** Forwards chunks one by one. The usage chunk is held back and sent (with cost) at the end if asked for. */
async function relayStream(res: ServerResponse, stream: OpenStream, signal: AbortSignal): Promise<RelayResult> {
  const out: RelayResult = { usage: null, usageChunk: null, chars: 0, error: null, clientGone: false };
  const forward = (chunk: ChatCompletionChunk): void => {
    if (chunk.usage) {
      out.usage = chunk.usage;
      if (chunk.choices.length === 0) {
        out.usageChunk = chunk;
        return;
      }
      out.usageChunk = { ...chunk, choices: [] };
      chunk = { ...chunk };
      delete chunk.usage;
    }
    out.chars += chunkChars(chunk);
    writeEvent(res, chunk);
  };
  try {
    forward(stream.first);
    for (;;) {
      const next = await stream.rest.next();
      if (next.done === true) break;
      forward(next.value);
    }
  } catch (err) {
    if (signal.aborted && res.destroyed) out.clientGone = true;
    else
      out.error =
        err instanceof UpstreamError ? err : new UpstreamError("reset", String(err), null, null, { cause: err });
  } finally {
    stream.release();
    if (res.destroyed) {
      out.clientGone = true;
      await stream.rest.return?.().catch(() => undefined);
    }
  }
  return out;
}

function chunkChars(chunk: ChatCompletionChunk): number {
  let n = 0;
  for (const choice of chunk.choices) {
    const delta = (choice as { delta?: { content?: unknown; tool_calls?: unknown } }).delta;
    if (typeof delta?.content === "string") n += delta.content.length;
    if (delta?.tool_calls !== undefined) n += JSON.stringify(delta.tool_calls).length;
  }
  return n;
}

function writeEvent(res: ServerResponse, data: unknown): void {
  if (!res.destroyed) res.write(`data: ${JSON.stringify(data)}\n\n`);
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

function setRoutingHeaders(res: ServerResponse, r: Routed, provider: ProviderConfig, failures: AttemptFailure[]): void {
  res.setHeader("x-routewise-route", r.route.name);
  res.setHeader("x-routewise-model", provider.model);
  res.setHeader("x-routewise-provider", provider.id);
  const fellBack = failures.length > 0 ? `fallback(from=${failures.map((f) => f.provider).join(",")}); ` : "";
  res.setHeader("x-routewise-decision", `${fellBack}${r.selection.explanation}`);
}

interface Costs {
  cost: number;
  baseline: number;
}

function account(deps: ChatDeps, r: Routed, provider: ProviderConfig, tokens: TokenCounts, outcome: string): Costs {
  const m = deps.metrics;
  const route = r.route.name;
  const labels = { route, provider: provider.id, model: provider.model };
  const cost = costUSD(tokens, provider.pricing);
  const baseline = costUSD(tokens, r.selection.baseline.pricing);
  m.requests.inc({ ...labels, outcome });
  m.tokens.inc({ ...labels, direction: "input" }, tokens.input - tokens.cachedInput);
  m.tokens.inc({ ...labels, direction: "cached_input" }, tokens.cachedInput);
  m.tokens.inc({ ...labels, direction: "output" }, tokens.output);
  m.cost.inc(labels, cost);
  m.baselineCost.inc({ route }, baseline);
  m.qualityPoints.inc({ route }, r.selection.predict(provider));
  m.baselineQualityPoints.inc({ route }, r.selection.baselineQuality);
  const gen = genAiLabels(provider);
  m.genAiTokenUsage.observe({ ...gen, gen_ai_token_type: "input" }, tokens.input);
  m.genAiTokenUsage.observe({ ...gen, gen_ai_token_type: "output" }, tokens.output);
  deps.dispatch.health.recordTokens(provider.id, tokens.input + tokens.output);
  return { cost, baseline };
}

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

/**
 * Counts a request no candidate could answer in routewise_requests_total, with the error code as its outcome
 * (upstream_error, upstream_timeout, upstream_rate_limited, upstream_unavailable, upstream_rejected) and the
 * last provider tried, so the error ratio and the "all candidates failing" alert see it.
 */
function countFailure(deps: ChatDeps, r: Routed, failures: AttemptFailure[], error: HttpError): HttpError {
  const lastId = failures[failures.length - 1]?.provider;
  const provider = r.selection.order.find((p) => p.id === lastId) ?? r.selection.order[0] ?? r.selection.decided;
  deps.metrics.requests.inc({
    route: r.route.name,
    provider: provider.id,
    model: provider.model,
    outcome: error.code ?? "upstream_error",
  });
  return error;
}

/** All attempts failed: 429 when every one was rate-limited, 504 when the last timed out, else 502/503. */
function upstreamFailure(r: Routed, failures: AttemptFailure[], fatal: UpstreamError | null): HttpError {
  if (fatal) {
    return new HttpError(
      fatal.status ?? 400,
      `upstream ${r.selection.order[0]?.id ?? ""} rejected the request: ${fatal.message}`,
      "invalid_request_error",
      "upstream_rejected",
    );
  }
  const summary = failures.map((f) => `${f.provider}: ${describe(f)}`).join("; ");
  const message = `all upstream attempts for ${r.route.name} failed (${failures.length}): ${summary || "no provider available"}`;
  if (failures.length > 0 && failures.every((f) => f.status === 429)) {
    const waits = failures.map((f) => f.retryAfterMs ?? 1000);
    const retryAfter = String(Math.max(1, Math.ceil(Math.min(...waits) / 1000)));
    return new HttpError(429, message, "rate_limit_error", "upstream_rate_limited").withHeaders({
      "retry-after": retryAfter,
    });
  }
  const last = failures[failures.length - 1];
  if (last?.kind === "timeout") return new HttpError(504, message, "api_error", "upstream_timeout");
  if (failures.length === 0 || failures.every((f) => f.kind === "circuit_open"))
    return new HttpError(503, message, "api_error", "upstream_unavailable");
  return new HttpError(502, message, "api_error", "upstream_error");
}

function describe(f: AttemptFailure): string {
  if (f.kind === "http") return `HTTP ${f.status ?? "?"} ${truncate(f.message, 160)}`;
  return `${failureReason(f)} ${truncate(f.message, 160)}`;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

export function formatUSD(x: number): string {
  return x.toFixed(8).replace(/0+$/, "").replace(/\.$/, ".0");
}

interface Served {
  provider: ProviderConfig;
  failures: AttemptFailure[];
  streamError?: string;
}

function logServed(deps: ChatDeps, r: Routed, { provider, failures, streamError }: Served): void {
  deps.logger.info(
    {
      requestId: r.requestId,
      route: r.route.name,
      provider: provider.id,
      model: provider.model,
      decision: r.selection.reason,
      fallbacks: failures.length,
      durationMs: deps.now() - r.started,
      ...(streamError === undefined ? {} : { streamError }),
    },
    streamError === undefined ? "Served chat completion" : "Ended stream with an upstream error",
  );
}
