/**
 * The routing half of a chat completion: the config snapshot, the client's key, the request body, which route
 * the model names, and the decision (classify → select, or a pinned provider). Every refusal is an HttpError.
 */
import type { IncomingMessage } from "node:http";
import type { RequestRecord } from "../accounting/request-record.js";
import type { Classification, Classifier } from "../classify/types.js";
import type { ProviderConfig, RouteConfig, Task } from "../config/types.js";
import { HttpError } from "../openai/errors.js";
import { parseChatRequest, type ParsedRequest } from "../openai/request.js";
import { pinnedSelection, resolveModel } from "../select/pinned.js";
import { boundedInput } from "../classify/featurize.js";
import { select, tooLongForAll } from "../select/select.js";
import { parameterGap } from "../select/params.js";
import type { HealthView, RequestFeatures, Selection, SelectionFailure } from "../select/types.js";
import type { Snapshot } from "../config/snapshot.js";
import { authenticate, type ClientAuth, type Principal } from "./auth.js";
import { explorationDraws, rolloutArm } from "../evaluation/sampling.js";
import { learningInputs } from "../learn/inputs.js";
import { cheapestEstimate } from "../select/budget.js";
import { estimateCost } from "../select/rank.js";
import type { StateStore } from "../state/types.js";
import { judgeRequest, startBudgets, type BudgetAdmission, type PendingBudgets } from "./budget-admission.js";
import { header } from "./headers.js";

export interface RoutingDeps {
  snapshot: () => Snapshot | null;
  classifier: (route: RouteConfig) => Classifier;
  /** The `--api-keys` file's keys; the config's clientKeys apply besides them. */
  auth: ClientAuth | null;
  /** Circuit breakers, limits and in-flight counts, as selection sees them. */
  health: HealthView & {
    /** While a provider is saturated: ms until its rate windows let a request through (for retry-after). */
    freesInMs(providerId: string): number;
  };
  /** In [0,1): weighted load balancing. */
  random: () => number;
  /** High-resolution clock in ms, for routing latency. */
  hrNow: () => number;
  /** Where budgets' spend is read (issue 17: in memory, or Redis across replicas). */
  state: Pick<StateStore, "readSpend">;
  /** Wall clock in ms (budget periods). */
  now: () => number;
}

export interface Routed {
  route: RouteConfig;
  selection: Selection;
  parsed: ParsedRequest;
  /** The analyzer's task (null for a pinned request, which is not classified). */
  task: Task | null;
  /** The config's providers by id. */
  providers: ReadonlyMap<string, ProviderConfig>;
  /** What the request's budgets said (null: none applies), for x-routewise-budget-remaining-usd. */
  budget: BudgetAdmission | null;
}

/** What decides a request besides its route: its budgets, and the record. */
interface Deciding {
  record: RequestRecord;
  budgets: PendingBudgets | null;
}

export async function routeRequest(
  deps: RoutingDeps,
  req: IncomingMessage,
  body: unknown,
  record: RequestRecord,
): Promise<Routed> {
  const { snap, principal } = admission(deps, req, record);
  const parsed = parseChatRequest(body);
  record.describe({ model: parsed.body.model });
  const { route, pinned } = admittedRoute(snap, parsed.body.model, principal);
  const budgets = startBudgets(deps.state, snap, principal, route, record);
  record.routing();
  const t0 = deps.hrNow();
  // A synchronous classifier (the built-in analyzer on its JS path, any cache hit) decides within this turn: no
  // await, so the routing histogram measures the decision, not the event loop's queue (ADR 15). A budget's spend
  // is read from the store, so a request under a budget awaits that read (started before, in startBudgets).
  const decision: Decision | Promise<Decision> = pinned
    ? pinnedDecision(deps, snap, { route, pinned, parsed }, { record, budgets })
    : decide(deps, { snap, route, parsed, req, record, budgets });
  const { selection, task, budget } = isPromiseLike(decision) ? await decision : decision;
  record.decided(route, selection, (deps.hrNow() - t0) / 1000);
  return { route, selection, parsed, task, providers: snap.providers, budget };
}

/** The config snapshot and the client's key (every endpoint's first step): 503 without a config, 401 without a key. */
export function admission(deps: RoutingDeps, req: IncomingMessage, record: RequestRecord) {
  const snap = deps.snapshot();
  if (!snap) throw new HttpError(503, "the router has no config yet", "api_error", "not_ready");
  const principal = authenticate(deps.auth, snap.config.clientKeys, (n) => header(req, n));
  record.describe({ clientKey: principal?.name ?? null, team: principal?.team ?? null });
  return { snap, principal };
}

/**
 * A provider-direct model: that provider, unless it cannot honour a parameter the request needs (select/params),
 * or a budget refuses the request at that provider's price (a budget's level does not move a pinned request).
 */
async function pinnedDecision(
  deps: RoutingDeps,
  snap: Snapshot,
  p: { route: RouteConfig; pinned: ProviderConfig; parsed: ParsedRequest },
  { record, budgets }: Deciding,
): Promise<{ selection: Selection; task: null; budget: BudgetAdmission | null }> {
  const gap = parameterGap(p.pinned, p.parsed);
  if (gap) throw refusal(gap);
  const estimate = estimateCost(p.pinned, p.parsed);
  const budget = budgets ? await judgeRequest(budgets, estimate, { record, now: deps.now() }) : null;
  return { selection: pinnedSelection(snap.providers, p.route, p.pinned), task: null, budget };
}

/** The route the model names, if the key may use it and it can serve; else the client's error. */
export function admittedRoute(snap: Snapshot, model: string, principal: Principal | null) {
  const resolved = resolveModel(snap, model);
  if (!resolved) {
    throw new HttpError(
      404,
      `The model ${JSON.stringify(model)} does not exist (see GET /v1/models)`,
      "invalid_request_error",
      "model_not_found",
      "model",
    );
  }
  const { route } = resolved;
  if (principal && !principal.allows(route.name)) {
    throw new HttpError(
      403,
      `this API key may not use model ${JSON.stringify(model)}`,
      "permission_error",
      "model_not_allowed",
      "model",
    );
  }
  const unavailable = snap.unavailable.get(route.name);
  if (unavailable !== undefined) {
    throw new HttpError(
      503,
      `route ${route.name} is unavailable: ${unavailable}`,
      "api_error",
      "route_unavailable",
      "model",
    ).withHeaders({ "retry-after": "30" });
  }
  return resolved;
}

interface DecisionContext extends Deciding {
  snap: Snapshot;
  route: RouteConfig;
  parsed: ParsedRequest;
  req: IncomingMessage;
}

interface Decision {
  selection: Selection;
  /** The analyzer's task; null for a pinned request (not classified). */
  task: Task | null;
  budget: BudgetAdmission | null;
}

function isPromiseLike<T>(v: T | PromiseLike<T>): v is PromiseLike<T> {
  return typeof (v as { then?: unknown }).then === "function";
}

/**
 * Classify → (budgets) → select: synchronous when the classifier answers synchronously and no budget applies, else
 * once the classifier and the budget's spend have answered.
 */
function decide(deps: RoutingDeps, ctx: DecisionContext): Decision | Promise<Decision> {
  const { snap, route, parsed } = ctx;
  // Size before classification: a prompt no candidate can take is refused without analysing it.
  const candidates = route.candidates.flatMap((c) => snap.providers.get(c.provider) ?? []);
  const tooLong = tooLongForAll(candidates, parsed);
  if (tooLong) throw refusal(tooLong);
  const classified = deps.classifier(route).classify(boundedInput(parsed.classifyInput));
  const { budgets } = ctx;
  if (budgets) return decideUnderBudgets(deps, { ...ctx, budgets }, candidates, classified);
  if (isPromiseLike(classified))
    return Promise.resolve(classified).then((c) => selectFor(deps, ctx, candidates, c, null));
  return selectFor(deps, ctx, candidates, classified, null);
}

/** A request under budgets: the budgets' verdict at the cheapest candidate's estimated cost, then selection. */
async function decideUnderBudgets(
  deps: RoutingDeps,
  ctx: DecisionContext & { budgets: PendingBudgets },
  candidates: readonly ProviderConfig[],
  classified: Classification | PromiseLike<Classification>,
): Promise<Decision> {
  const classification = await classified;
  const estimate = cheapestEstimate(candidates, requestFeatures(ctx));
  const budget = await judgeRequest(ctx.budgets, estimate, { record: ctx.record, now: deps.now() });
  return selectFor(deps, ctx, candidates, classification, budget);
}

function requestFeatures({ parsed, req }: { parsed: ParsedRequest; req: IncomingMessage }): RequestFeatures {
  return {
    promptTokens: parsed.promptTokens,
    maxOutputTokens: parsed.maxOutputTokens,
    needsTools: parsed.needsTools,
    needsVision: parsed.needsVision,
    needsJson: parsed.needsJson,
    choices: parsed.choices,
    needsLogprobs: parsed.needsLogprobs,
    needsStrictSchema: parsed.needsStrictSchema,
    stream: parsed.stream,
    header: (n) => header(req, n),
    metadata: parsed.metadata,
  };
}

function selectFor(
  deps: RoutingDeps,
  ctx: DecisionContext,
  candidates: readonly ProviderConfig[],
  classification: Classification,
  budget: BudgetAdmission | null,
): Decision {
  const { snap, route, parsed, record } = ctx;
  const { task, domain, difficulty, confidence } = classification;
  record.describe({ classification: { task, domain, difficulty, confidence }, promptTokens: parsed.promptTokens });
  const request = requestFeatures(ctx);
  const { requestId } = record;
  const result = select({
    route,
    providers: snap.providers,
    classification,
    request,
    health: deps.health,
    random: deps.random,
    // The canary's draw: deterministic per request id, so replicas agree (ADR 10).
    rolloutArm: rolloutArm(route, requestId),
    ...learningInputs(route, classification, request, () => explorationDraws(requestId)),
    ...(budget ? { budget: budget.verdict.level } : {}),
  });
  if (!result.ok) throw refusal(result, retryAfterSeconds(deps.health, candidates));
  return { selection: result, task: classification.task, budget };
}

export function refusal(f: SelectionFailure, retryAfter = 1): HttpError {
  const type = f.status === 429 ? "rate_limit_error" : "invalid_request_error";
  const error = new HttpError(f.status, f.message, type, f.code, f.param);
  return f.status === 429 ? error.withHeaders({ "retry-after": String(retryAfter) }) : error;
}

/** Every candidate is at its limits: retry when the first of them frees (whole seconds, at least 1). */
function retryAfterSeconds(health: RoutingDeps["health"], candidates: readonly ProviderConfig[]): number {
  const ms = Math.min(...candidates.map((p) => health.freesInMs(p.id)));
  return Number.isFinite(ms) ? Math.max(1, Math.ceil(ms / 1000)) : 1;
}
