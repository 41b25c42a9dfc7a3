/**
 * What every answered request carries, whatever its shape (JSON, relayed stream, replayed cascade answer): the
 * pipeline's dependencies, the feedback token, judge sampling after the response, and the `x_routewise` summary.
 */
import type { ServerResponse } from "node:http";
import type { BilledAttempt, Costs, RequestRecord, RequestRecorder } from "../accounting/request-record.js";
import { tokensFromUsage, type TokenCounts } from "../accounting/cost.js";
import type { RequestLifetime } from "../dispatch/abort.js";
import type { AttemptFailure, DispatchDeps } from "../dispatch/dispatch.js";
import type { ProviderConfig } from "../config/types.js";
import type { ChatCompletion } from "../openai/types.js";
import type { EvaluationCase } from "../evaluation/plan.js";
import type { Answer } from "../evaluation/structural.js";
import type { AnswerWriter } from "./answer-writer.js";
import { FEEDBACK_TOKEN_HEADER, feedbackToken, type FeedbackDeps } from "./feedback.js";
import { BUDGET_REMAINING_HEADER, remainingAfter, type BudgetAdmission } from "./budget-admission.js";
import { formatUSD } from "./headers.js";
import type { Routed, RoutingDeps } from "./route-request.js";

export interface ChatDeps extends RoutingDeps {
  dispatch: DispatchDeps;
  /** Opens the record of one request. */
  record: RequestRecorder;
  /** Signs every answer's feedback token. */
  feedback: FeedbackDeps;
  /** Judge sampling: told about each answered request once its client response has ended (never awaited). */
  evaluate: (c: EvaluationCase) => void;
}

/** The client's response, the writer of its wire format, and the client's body as it came (before translation). */
export interface Out {
  res: ServerResponse;
  w: AnswerWriter;
  body: unknown;
}

/**
 * What happened before the route's normal choice answers: a cascade's escalated stages (billed to the request,
 * named in x-routewise-decision). Empty for every other request.
 */
export interface Prior {
  /** Ends when the client goes away or the route's total timeout passes. */
  lifetime: RequestLifetime;
  cascade: BilledAttempt[];
  /** Prefixed to x-routewise-decision, or "". */
  note: string;
}

/** A whole completion that answers the request. */
export interface Answered {
  provider: ProviderConfig;
  value: ChatCompletion;
  failures: AttemptFailure[];
  prior: Prior;
}

/** The selection as x-routewise-decision reports it, with what the cascade did first. */
export function withNote(r: Routed, prior: Prior): Routed["selection"] {
  return prior.note === "" ? r.selection : { ...r.selection, explanation: `${prior.note}${r.selection.explanation}` };
}

export function tokenFor(deps: ChatDeps, r: Routed, provider: ProviderConfig, record: RequestRecord): string {
  const a = { route: r.route, provider, reason: r.selection.reason, requestId: record.requestId };
  return feedbackToken(deps.feedback, a);
}

/** A whole completion's tokens: its usage, else estimated from the request and its choices. */
export function completionTokens(r: Routed, body: ChatCompletion): TokenCounts {
  // The length of the serialised choices only when the upstream sent no usage (a getter: most answers carry usage).
  return tokensFromUsage(body.usage, {
    promptChars: r.parsed.promptChars,
    get completionChars() {
      return JSON.stringify(body.choices).length;
    },
  });
}

/** Hands the answered request to judge sampling once the client's response has ended (ADR 10). */
export function evaluateAfterResponse(
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

/** The `x_routewise` object of a stream's final usage chunk (before its feedback token). */
export function baseSummary(r: Routed, provider: ProviderConfig, tokens: TokenCounts, costs: Costs) {
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

/**
 * The cost and feedback-token headers (or trailers) of an answer, and, when budgets apply, the smallest USD left
 * of them after this answer (x-routewise-budget-remaining-usd).
 */
export function costHeaders(costs: Costs, token: string, budget: BudgetAdmission | null): Record<string, string> {
  return {
    "x-routewise-cost-usd": formatUSD(costs.cost),
    "x-routewise-baseline-cost-usd": formatUSD(costs.baseline),
    [FEEDBACK_TOKEN_HEADER]: token,
    ...(budget ? { [BUDGET_REMAINING_HEADER]: remainingAfter(budget, costs.cost) } : {}),
  };
}
