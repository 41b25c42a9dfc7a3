/**
 * What one answered request means for judge sampling (ADR 10), decided without I/O: skip it, record it as a sample
 * with equal scores (the baseline answered because the policy chose it), or ask another model for the side the
 * client did not get — the baseline (enforce, canary's policy arm) or the decided model (shadow).
 */
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import type { ChatRequest } from "../openai/types.js";
import type { Arm } from "../select/types.js";
import { sampled } from "./sampling.js";
import type { Answer } from "./structural.js";

/** An answered request, handed to the evaluator once the client's response has ended. */
export interface EvaluationCase {
  route: RouteConfig;
  requestId: string;
  /** The client's request body. */
  request: ChatRequest;
  /** The client asked for JSON output (response_format). */
  jsonMode: boolean;
  arm: Arm;
  /** The selection's bounded reason ("pinned" requests bypass routing and are never sampled). */
  reason: string;
  /** Who answered the client, and what the client got (streams: the relayed text). */
  answered: ProviderConfig;
  answer: Answer;
  decided: ProviderConfig;
  baseline: ProviderConfig;
}

export type Plan =
  | { kind: "skip" }
  /** Both sides are the baseline: a sample scored 10/10 without any call. */
  | { kind: "equal"; model: string }
  /** Ask `provider` for the `side` the client did not get. */
  | { kind: "call"; provider: ProviderConfig; side: "baseline" | "routed" };

const SKIP: Plan = { kind: "skip" };

/** Whether the request is sampled at all: the route evaluates, the draw takes it, routing decided it. */
export function isSampled(c: Pick<EvaluationCase, "route" | "requestId" | "reason">): boolean {
  const evaluation = c.route.evaluation;
  if (evaluation === undefined || evaluation === null || c.reason === "pinned") return false;
  return sampled(c.requestId, evaluation.sampleRate);
}

/** What a sampled request needs. */
export function planEvaluation(c: EvaluationCase): Plan {
  if (c.arm === "baseline") {
    // Canary's baseline arm measures nothing; shadow measures what the decided model would have answered.
    if (c.route.rollout !== "shadow") return SKIP;
    if (c.decided.id === c.baseline.id) return { kind: "equal", model: c.decided.model };
    return { kind: "call", provider: c.decided, side: "routed" };
  }
  if (c.answered.id === c.baseline.id) return { kind: "equal", model: c.answered.model };
  return { kind: "call", provider: c.baseline, side: "baseline" };
}
