/** What selection takes and returns. */
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import type { Classification } from "../classify/types.js";

export interface RequestFeatures {
  /** Estimated prompt tokens. */
  promptTokens: number;
  /** The request's max_tokens / max_completion_tokens, if set. */
  maxOutputTokens: number | null;
  needsTools: boolean;
  needsVision: boolean;
  needsJson: boolean;
  stream: boolean;
  /** `n`: choices asked for (absent: 1). */
  choices?: number;
  /** `logprobs: true` or `top_logprobs` set. */
  needsLogprobs?: boolean;
  /** A `json_schema` response format with `strict: true`. */
  needsStrictSchema?: boolean;
  /** Lower-cased header names. */
  header(name: string): string | undefined;
  metadata: Record<string, unknown>;
}

export interface HealthView {
  /** Circuit open: the provider is skipped unless nothing else is left. */
  isOpen(providerId: string): boolean;
  /** At its concurrency / rate limits: skipped. */
  isSaturated(providerId: string): boolean;
  inflight(providerId: string): number;
}

/** Who chose the provider: the policy, or the rollout (shadow, canary's baseline share) sending it to the baseline. */
export type Arm = "policy" | "baseline";

export interface Selection {
  ok: true;
  /** policy: the request goes where the policy decided; baseline: the rollout sends it to the baseline. */
  arm: Arm;
  /** Providers to try, in order (first = primary, the rest fallbacks). */
  order: ProviderConfig[];
  /** The provider the policy chose (differs from order[0] in shadow mode). */
  decided: ProviderConfig;
  /**
   * Bounded reason for metrics: "rule:<name>", "classifier", "strongest", "shadow", "canary_baseline", "pinned",
   * "budget_exhausted".
   */
  reason: string;
  /** Short human explanation for x-routewise-decision. */
  explanation: string;
  /** Predicted quality (0–100) of the provider the request is sent to first, and of the baseline. */
  predictedQuality: number;
  /** Predicted quality (0–100) of any provider on this request (for fallbacks). */
  predict: (p: ProviderConfig) => number;
  baselineQuality: number;
  baseline: ProviderConfig;
  /**
   * Probability that the policy, with its exploration share, chose `decided` (ADR 12): logged with every decision
   * so a new policy can be scored offline. 1 without exploration.
   */
  propensity: number;
  /** Exploration sent the request to a random feasible candidate instead of the policy's choice. */
  explored: boolean;
  /** The request's segment key, when the caller computed one. */
  segment?: string;
}

export interface SelectionFailure {
  ok: false;
  status: 400 | 429;
  code: string;
  param: string | null;
  message: string;
}

/** Tokens assumed for the answer when the request sets no max_tokens (for cost caps). */

export interface SelectInput {
  route: RouteConfig;
  providers: ReadonlyMap<string, ProviderConfig>;
  classification: Classification;
  request: RequestFeatures;
  health: HealthView;
  /** In [0,1): used for weighted load balancing among equivalent providers. */
  random: () => number;
  /**
   * The request's rollout arm (canary: its deterministic draw, computed by the caller from the request id).
   * Absent: baseline for shadow routes, policy otherwise.
   */
  rolloutArm?: Arm;
  /** The request's segment key (router/learn/segment.ts), computed by the caller; selects route.learned entries. */
  segment?: string;
  /**
   * The exploration draws in [0,1), deterministic per request id and computed by the caller: the request explores
   * when `u < route.learning.exploration`, and `pick` chooses among the feasible candidates. Absent: no exploration.
   */
  exploration?: { u: number; pick: number };
  /**
   * What the request's budgets say (select/budget.ts, issue 17): `relaxed` ranks against the objective minus
   * RELAXED_RETENTION_MARGIN, `cheapest` sends it to the cheapest capable candidate (rule pins, exploration and a
   * shadow or canary rollout aside). Absent: normal.
   */
  budget?: "normal" | "relaxed" | "cheapest";
}

export function failure(status: 400 | 429, code: string, param: string | null, message: string): SelectionFailure {
  return { ok: false, status, code, param, message };
}
