/**
 * The request record: everything one chat completion request does, written in one place. A request opens a
 * record when it starts and walks it through
 *
 *   begin → decided → attempt… (retry | fallback | first chunk) → finished | failed → end
 *
 * The record is the only writer of a request's metrics, the provider's token window, the cost and quality
 * accounting, the request's log line and, when tracing is on, its spans (tracing.ts). It records exactly one outcome: a second `finished` or `failed` is
 * ignored, so a stream that fails after its first chunk is counted once, as `stream_error`.
 *
 * A served request's access-log line is written by `end`, once the response is over: building and writing it is
 * the dearest part of the record (~0.1 ms), and the client need not wait for it (ADR 5).
 */
import type { Tracer } from "@opentelemetry/api";
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import type { RouterMetrics } from "../metrics/metrics.js";
import type { AppliedBudget, BudgetScope, BudgetVerdict } from "../select/budget.js";
import type { SpendKey, StateStore } from "../state/types.js";
import { costUSD, type TokenCounts } from "./cost.js";
import type { TraceContext } from "../providers/types.js";
import { pairLabels, providerLabels, requestLabels, routeLabels } from "./series-labels.js";
import { RequestSpans, type AttemptSpan } from "./tracing.js";
import { labelContext, learnsFrom } from "../learn/label.js";
import type { LearningLedger } from "./learning-ledger.js";

/** What the record needs of a selection (router/select's Selection satisfies it). */
export interface RecordedSelection {
  decided: ProviderConfig;
  reason: string;
  /** Who chose the provider (the `arm` label): the policy, or the rollout sending the request to the baseline. */
  arm: "policy" | "baseline";
  baseline: ProviderConfig;
  baselineQuality: number;
  /** Predicted quality (0–100) of any provider on this request. */
  predict: (p: ProviderConfig) => number;
  /** Probability that the policy with exploration chose `decided` (ADR 12); logged on the request's line. */
  propensity?: number;
  /** The request's learning segment (ADR 12), when the route learns. */
  segment?: string;
  /** The providers to try, in order (a learning route's candidates as the SLO controller sees them). */
  order?: readonly ProviderConfig[];
}

/** One upstream attempt, from attemptStarted to attemptEnded. */
export interface Attempt {
  readonly provider: ProviderConfig;
  /** Wall clock ms when it began. */
  readonly startedAt: number;
  /** The trace context to forward upstream: the attempt span's when tracing is on, else the client's. */
  readonly trace: TraceContext;
}

/** What dispatch reports while it tries providers. */
export interface AttemptObserver {
  /** An upstream attempt begins. */
  attemptStarted(provider: ProviderConfig): Attempt;
  /** An upstream attempt ended (`outcome`: success, stream_error, http_<status>, timeout, reset, …). */
  attemptEnded(attempt: Attempt, outcome: string): void;
  /** A stream's first chunk arrived (the attempt's start → now). */
  firstChunk(attempt: Attempt): void;
  retried(provider: ProviderConfig, reason: string): void;
  fellBack(route: RouteConfig, from: ProviderConfig, to: ProviderConfig, reason: string): void;
  /** The upstream sent a stream event that was skipped as malformed. */
  malformedEvent(provider: ProviderConfig): void;
}

/** The provider window that limits tokens per minute. */
export interface TokenWindow {
  recordTokens(providerId: string, tokens: number): void;
}

/**
 * Where access-log lines go: a pino Logger satisfies it; the CLI's writes the same JSON line without pino's
 * key-by-key serializer (cli/access-log.ts, ADR 5).
 */
export interface AccessLogger {
  isLevelEnabled(level: "info"): boolean;
  info(fields: Record<string, unknown>, msg: string): void;
}

export interface RecorderDeps {
  metrics: RouterMetrics;
  logger: AccessLogger;
  tokens: TokenWindow;
  /** Wall clock in ms (durations in logs and metrics). */
  now: () => number;
  /** The request-log sink (chargeback): every access-log line, as one JSON object. Absent: logs only. */
  sink?: (line: Record<string, unknown>) => void;
  /** Tracing on: each request's spans (tracing.ts). Absent: no span is created. */
  tracer?: Tracer;
  /**
   * Learning routes (ADR 12): where an answered, judge-sampled request leaves what its sample's label needs, and
   * whether judge sampling takes a request (router/evaluation's draw). Absent: nothing is left.
   */
  learning?: { ledger: LearningLedger; sampled: (route: RouteConfig, requestId: string) => boolean };
  /** Where budgets' spend is counted (issue 17: in memory, or Redis across replicas). Absent: no budget is charged. */
  spend?: Pick<StateStore, "charge">;
}

/** Who pays for a request and which budgets count its cost (issue 17). */
export interface RequestBudgets {
  /** The series of routewise_spend_usd_total its cost is added to: its route, its client key, the key's team. */
  payers: { scope: BudgetScope; name: string }[];
  /** The spend counters of the budgets that apply, charged with the request's real cost once it has answered. */
  counters: SpendKey[];
}

/** What the record learns about a request besides its decision: for the access-log line. Never a key or prompt. */
export interface RequestContext {
  /** The client key's name (never the key). */
  clientKey?: string | null;
  /** The client key's team, when it has one. */
  team?: string | null;
  classification?: { task: string; domain: string; difficulty: number; confidence: number };
  promptTokens?: number;
  /** The API the request used (absent: chat completions); on the line when it is another. */
  endpoint?: Endpoint;
  /** The model the client asked for (names the request's span). */
  model?: string;
  /** What its budgets did to the request, when they did something (on the line as `budget`). */
  budget?: "relaxed" | "cheapest" | "rejected";
}

/** The APIs a request may use, and the noun its access-log messages use. */
export type Endpoint = "chat.completions" | "responses" | "messages" | "completions" | "embeddings";

const NOUNS: Record<Endpoint, string> = {
  "chat.completions": "chat completion",
  responses: "response",
  messages: "message",
  completions: "completion",
  embeddings: "embeddings request",
};

export interface Costs {
  /** Of every billed attempt. */
  cost: number;
  baseline: number;
  /** Per billed attempt, in order (one unless a stream was continued). */
  attempts: { provider: ProviderConfig; cost: number; estimated: boolean }[];
}

/** An attempt whose output the client got part of before it failed and the stream was continued elsewhere. */
export interface BilledAttempt {
  provider: ProviderConfig;
  tokens: TokenCounts;
}

/** How a request that reached a provider ended. */
export interface Finished {
  provider: ProviderConfig;
  tokens: TokenCounts;
  /** `success` or `stream_error`. */
  outcome: string;
  fallbacks: number;
  /** The upstream's mid-stream error, for the log line. */
  streamError?: string;
  /** Earlier attempts of a continued stream, billed too (their tokens and cost at their provider). */
  earlier?: BilledAttempt[];
  /**
   * Cascade stages whose answers were escalated, and the cascade's judge calls: billed at their providers, but
   * not part of the answer (the baseline would have answered once, so they add nothing to the baseline cost).
   */
  cascade?: BilledAttempt[];
  /** The upstream API that answered when it was not chat completions: a /v1/responses request passed through. */
  upstreamApi?: "responses";
}

/** A request no candidate could answer. */
export interface Failed {
  /** The last provider tried (or the first in the order when none was tried). */
  provider: ProviderConfig;
  /** The client error's code: upstream_error, upstream_timeout, upstream_rate_limited, … */
  code: string;
}

/** Opens a request's record; `trace` is the client's W3C trace context (well-formed headers only). */
export type RequestRecorder = (requestId: string, trace?: TraceContext) => RequestRecord;

export function createRecorder(deps: RecorderDeps): RequestRecorder {
  return (requestId, trace = {}) => new RequestRecord(deps, requestId, trace);
}

export class RequestRecord implements AttemptObserver {
  private readonly started: number;
  private route: RouteConfig | null = null;
  private selection: RecordedSelection | null = null;
  private outcome: "open" | "recorded" = "open";
  private ended = false;
  /** The access-log line is written exactly once per request (served, or refused/failed). */
  private logged = false;
  /** A served request's line, written by `end` (after the response); null until `finished`, or when it goes nowhere. */
  private served: { f: Finished; costs: Costs } | null = null;
  private readonly context: RequestContext = {};
  private readonly attempts: { provider: string; outcome: string; ms: number }[] = [];
  /** The request's spans, when tracing is on. */
  private readonly spans: RequestSpans | null;
  /** Each attempt's span (made with the first, when tracing is on). */
  private attemptSpans: WeakMap<Attempt, AttemptSpan> | null = null;
  private budgets: RequestBudgets | null = null;

  constructor(
    private readonly deps: RecorderDeps,
    readonly requestId: string,
    private readonly clientTrace: TraceContext = {},
  ) {
    this.started = deps.now();
    deps.metrics.inflight.inc();
    this.spans = deps.tracer ? new RequestSpans(deps.tracer, requestId, clientTrace) : null;
  }

  /** Classify + select begin (the decision follows with `decided`, or the request is refused). */
  routing(): void {
    this.spans?.routing();
  }

  /** The route and its selection are known; `routingSeconds` is the time classify + select took. */
  decided(route: RouteConfig, selection: RecordedSelection, routingSeconds: number): void {
    this.route = route;
    this.selection = selection;
    this.spans?.decided({ route, reason: selection.reason, arm: selection.arm, decided: selection.decided });
    const m = this.deps.metrics;
    m.routingDuration.observe(routeLabels(route).route, routingSeconds);
    m.decisions.inc({ route: route.name, model: selection.decided.model, reason: selection.reason });
  }

  /** Who pays for the request and which budgets count its cost (charged by `finished`). */
  paidBy(budgets: RequestBudgets): void {
    this.budgets = budgets;
  }

  /**
   * What the budgets that apply said before dispatch: each budget's spend as read (a gauge), and the budget that
   * stepped the request down or refused it (counted by scope, name and reason).
   */
  budgetJudged(applied: readonly AppliedBudget[], verdict: BudgetVerdict): void {
    const m = this.deps.metrics;
    for (const b of applied) {
      m.budgetSpent.set({ scope: b.scope, name: b.name }, b.spent);
      m.budgetLimit.set({ scope: b.scope, name: b.name }, b.budget.usd);
    }
    const { degradedBy, rejectedBy } = verdict;
    if (rejectedBy) {
      const { scope, name } = rejectedBy.budget;
      m.budgetRejected.inc({ scope, name, reason: rejectedBy.reason });
      this.describe({ budget: "rejected" });
    } else if (degradedBy) {
      const { scope, name } = degradedBy.budget;
      m.budgetDegraded.inc({ scope, name, reason: degradedBy.reason });
      this.describe({ budget: verdict.level === "cheapest" ? "cheapest" : "relaxed" });
    }
  }

  /** Who asked and what the analyzer saw (merged into what is known). */
  describe(context: RequestContext): void {
    Object.assign(this.context, context);
    if (context.model !== undefined) this.spans?.requestedModel(context.model);
  }

  attemptStarted(provider: ProviderConfig): Attempt {
    const span = this.spans?.attemptStarted(provider);
    const attempt = { provider, startedAt: this.deps.now(), trace: span?.trace ?? this.clientTrace };
    if (span) (this.attemptSpans ??= new WeakMap()).set(attempt, span);
    return attempt;
  }

  attemptEnded(attempt: Attempt, outcome: string): void {
    const { provider } = attempt;
    this.attemptSpans?.get(attempt)?.end(outcome);
    const seconds = (this.deps.now() - attempt.startedAt) / 1000;
    this.attempts.push({ provider: provider.id, outcome, ms: Math.round(seconds * 1000) });
    const m = this.deps.metrics;
    const labels = providerLabels(provider);
    m.upstreamDuration.observe(labels.outcome.get(outcome), seconds);
    m.genAiRequestDuration.observe(labels.genAiOutcome.get(outcome), seconds);
  }

  firstChunk(attempt: Attempt): void {
    const { provider } = attempt;
    this.attemptSpans?.get(attempt)?.firstChunk();
    const seconds = (this.deps.now() - attempt.startedAt) / 1000;
    const labels = providerLabels(provider);
    this.deps.metrics.timeToFirstToken.observe(labels.model, seconds);
    this.deps.metrics.genAiTimeToFirstToken.observe(labels.genAi, seconds);
  }

  retried(provider: ProviderConfig, reason: string): void {
    this.deps.metrics.retries.inc({ provider: provider.id, reason });
  }

  fellBack(route: RouteConfig, from: ProviderConfig, to: ProviderConfig, reason: string): void {
    this.deps.metrics.fallbacks.inc({ route: route.name, from_provider: from.id, to_provider: to.id, reason });
  }

  /** A cascade stage answered and was accepted or escalated by a verifier, or failed (`error`). */
  cascadeStage(provider: ProviderConfig, outcome: "accepted" | "escalated" | "error", verifier: string): void {
    const route = this.route?.name ?? "";
    this.deps.metrics.cascade.inc({ route, model: provider.model, outcome, verifier });
  }

  malformedEvent(provider: ProviderConfig): void {
    this.deps.metrics.upstreamMalformedEvents.inc({ provider: provider.id, model: provider.model });
  }

  /**
   * A provider answered (fully, or a stream that ended with an error): tokens, cost, quality, the log line. A
   * continued stream bills every attempt at its own provider; the baseline prices the answer once (the first
   * attempt's prompt, every attempt's output).
   */
  finished(f: Finished): Costs {
    const { route, selection } = this.decision();
    const answer = [...(f.earlier ?? []), { provider: f.provider, tokens: f.tokens }];
    const billed = [...(f.cascade ?? []), ...answer];
    const attempts = billed.map((b) => ({
      provider: b.provider,
      cost: costUSD(b.tokens, b.provider.pricing),
      estimated: b.tokens.estimated,
    }));
    const costs = {
      cost: sum(attempts.map((a) => a.cost)),
      baseline: costUSD(answerTokens(answer), selection.baseline.pricing),
      attempts,
    };
    if (!this.takeOutcome()) return costs;
    this.spans?.finished(f.provider, answerTokens(answer), f.outcome);
    const m = this.deps.metrics;
    const { arm } = selection;
    m.requests.inc(requestLabels(pairLabels(route, f.provider), f.outcome, arm));
    billed.forEach((b, i) => this.bill(route, b, attempts[i]?.cost ?? 0));
    const labels = routeLabels(route);
    m.baselineCost.inc(labels.arm.get(arm), costs.baseline);
    // A shadow pilot's savings: the same tokens at the prices of the model the policy decided.
    if (route.rollout === "shadow")
      m.projectedCost.inc(labels.route, costUSD(answerTokens(answer), selection.decided.pricing));
    m.qualityPoints.inc(labels.route, selection.predict(f.provider));
    m.baselineQualityPoints.inc(labels.route, selection.baselineQuality);
    this.rememberLabel(f, answerTokens(answer), costs.baseline);
    this.charge(costs.cost);
    if (this.wantsLine()) this.served = { f, costs };
    return costs;
  }

  /** A judge-sampled answer of a learning route: what its label will need, for the evaluation record. */
  private rememberLabel(f: Finished, tokens: TokenCounts, baselineCost: number): void {
    const { route, selection } = this.decision();
    const learning = this.deps.learning;
    if (!learning || !labelled(route, selection, f) || !learning.sampled(route, this.requestId)) return;
    const cost = (p: ProviderConfig): number => costUSD(tokens, p.pricing);
    learning.ledger.remember(this.requestId, labelContext(selection, f.provider, cost, baselineCost));
  }

  /** The request's real cost to who pays (the spend metric) and to the budgets that apply (the store). */
  private charge(usd: number): void {
    const b = this.budgets;
    if (!b) return;
    for (const p of b.payers) this.deps.metrics.spend.inc({ scope: p.scope, name: p.name }, usd);
    if (b.counters.length > 0) this.deps.spend?.charge(b.counters, usd);
  }

  private bill(route: RouteConfig, b: BilledAttempt, cost: number): void {
    const m = this.deps.metrics;
    const pair = pairLabels(route, b.provider);
    const { tokens } = b;
    m.tokens.inc(pair.direction.get("input"), tokens.input - tokens.cachedInput);
    m.tokens.inc(pair.direction.get("cached_input"), tokens.cachedInput);
    m.tokens.inc(pair.direction.get("output"), tokens.output);
    m.cost.inc(pair.arm.get(this.decision().selection.arm), cost);
    const gen = providerLabels(b.provider).genAiTokens;
    m.genAiTokenUsage.observe(gen.get("input"), tokens.input);
    m.genAiTokenUsage.observe(gen.get("output"), tokens.output);
    this.deps.tokens.recordTokens(b.provider.id, tokens.input + tokens.output);
  }

  /**
   * No candidate could answer: counted in routewise_requests_total with the error code as its outcome and the
   * last provider tried, so the error ratio and the "all candidates failing" alert see it.
   */
  failed(f: Failed): void {
    const { route, selection } = this.decision();
    if (!this.takeOutcome()) return;
    this.spans?.failed(f.provider);
    this.deps.metrics.requests.inc(requestLabels(pairLabels(route, f.provider), f.code, selection.arm));
  }

  /** The response is over (whatever happened): a served request's log line, and it leaves the in-flight gauge. Idempotent. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.served) this.logServed(this.served.f, this.served.costs);
    this.deps.metrics.inflight.dec();
    this.spans?.end();
  }

  private decision(): { route: RouteConfig; selection: RecordedSelection } {
    if (!this.route || !this.selection) throw new Error("request record: an outcome before the decision");
    return { route: this.route, selection: this.selection };
  }

  /** True the first time only: a request has exactly one outcome. */
  private takeOutcome(): boolean {
    if (this.outcome === "recorded") return false;
    this.outcome = "recorded";
    return true;
  }

  private logServed(f: Finished, costs: Costs): void {
    const { route, selection } = this.decision();
    const tokens = { input: f.tokens.input, cachedInput: f.tokens.cachedInput, output: f.tokens.output };
    for (const e of f.earlier ?? []) {
      tokens.input += e.tokens.input;
      tokens.cachedInput += e.tokens.cachedInput;
      tokens.output += e.tokens.output;
    }
    // A field left undefined is not on the line (JSON drops it): one object, no spread per optional field.
    this.access(f.streamError === undefined ? `Served ${this.noun()}` : "Ended stream with an upstream error", {
      route: route.name,
      provider: f.provider.id,
      model: f.provider.model,
      decision: selection.reason,
      decided: selection.decided.id,
      propensity: selection.propensity ?? 1,
      segment: selection.segment,
      outcome: f.outcome,
      status: 200,
      fallbacks: f.fallbacks,
      upstreamApi: f.upstreamApi,
      continuedFrom: providerIds(f.earlier),
      cascadeBilled: providerIds(f.cascade),
      tokens,
      costUsd: costs.cost,
      baselineCostUsd: costs.baseline,
      streamError: f.streamError,
    });
  }

  /**
   * The request ended without an answer: refused before routing (401, 403, 404, 400, 503…) or after every attempt
   * failed (502, 504, 429). One access-log line, unless the request was already logged as served.
   */
  rejected(status: number, code: string): void {
    this.spans?.rejected(status, code);
    // Served (its line comes with `end`): an error after the answer was recorded does not make it a refusal.
    if (this.served || !this.wantsLine()) return;
    const route = this.route;
    const selection = this.selection;
    this.access(`Refused ${this.noun()}`, {
      ...(route ? { route: route.name } : {}),
      ...(selection ? { decision: selection.reason, decided: selection.decided.id } : {}),
      outcome: code,
      status,
    });
  }

  private noun(): string {
    return NOUNS[this.context.endpoint ?? "chat.completions"];
  }

  /**
   * Whether the access-log line goes anywhere (the log at info, or the request-log sink), and so is worth building;
   * false also once it has been written.
   */
  private wantsLine(): boolean {
    return !this.logged && (this.deps.sink !== undefined || this.deps.logger.isLevelEnabled("info"));
  }

  /** One access-log line (info) with what every line carries, and the same object to the request-log sink. */
  private access(message: string, fields: Record<string, unknown>): void {
    if (this.logged) return;
    this.logged = true;
    const c = this.context;
    const line = {
      requestId: this.requestId,
      endpoint: c.endpoint === "chat.completions" ? undefined : c.endpoint,
      clientKey: c.clientKey || undefined,
      team: c.team || undefined,
      budget: c.budget,
      ...fields,
      classification: c.classification,
      promptTokens: c.promptTokens,
      attempts: this.attempts,
      durationMs: this.deps.now() - this.started,
    };
    this.deps.logger.info(line, message);
    this.deps.sink?.({ time: new Date().toISOString(), msg: message, ...line });
  }
}

/** The providers of earlier attempts or cascade stages, when there were any (undefined: none, not on the line). */
function providerIds(billed: readonly BilledAttempt[] | undefined): string[] | undefined {
  return billed && billed.length > 0 ? billed.map((b) => b.provider.id) : undefined;
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** The answer's tokens as one request would have used them: the first prompt, every attempt's output. */
function answerTokens(billed: BilledAttempt[]): TokenCounts {
  const first = billed[0]?.tokens ?? { input: 0, cachedInput: 0, output: 0, estimated: false };
  return {
    ...first,
    output: sum(billed.map((b) => b.tokens.output)),
    estimated: billed.some((b) => b.tokens.estimated),
  };
}

/** Whether an answered request of this route can become a learning label: it judges, succeeded, and learnsFrom. */
function labelled(route: RouteConfig, selection: RecordedSelection, f: Finished): boolean {
  return (route.evaluation ?? null) !== null && f.outcome === "success" && learnsFrom(route, selection);
}
