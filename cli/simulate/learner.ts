/**
 * Where a learner plugs into the replay. Per row, in order: `prepare` may change the route the real select() runs
 * with (a learned threshold, learned per-segment quality), `choose` picks the provider to serve from the selection
 * (exploration) and says with what probability, and — only for the judged share of rows, after the row was decided
 * — `learn` receives its (noisy) labels. The static learner is the router as shipped: the policy as configured.
 */
import type { Classification } from "../../router/classify/types.js";
import type { ProviderConfig, RouteConfig } from "../../router/config/types.js";
import type { Selection } from "../../router/select/types.js";

export interface RowContext {
  /** 0-based position in the replay. */
  index: number;
  classification: Classification;
  promptTokens: number;
  route: RouteConfig;
  providers: ReadonlyMap<string, ProviderConfig>;
}

export interface Choice {
  provider: ProviderConfig;
  /** Probability in (0,1] that the policy served this provider for this row (1 for a deterministic policy). */
  propensity: number;
}

/** What a judge said about one served row: scores in [0,1], after the simulated judge noise. */
export interface JudgedLabel {
  context: RowContext;
  served: ProviderConfig;
  baseline: ProviderConfig;
  servedScore: number;
  baselineScore: number;
  propensity: number;
}

export interface Learner {
  readonly name: string;
  prepare(context: RowContext): RouteConfig;
  choose(context: RowContext, selection: Selection, random: () => number): Choice;
  learn(label: JudgedLabel): void;
}

/** The route's policy exactly as configured: nothing is learned. */
export const STATIC_LEARNER: Learner = {
  name: "static",
  prepare: (c) => c.route,
  choose: (_c, selection) => ({ provider: selection.order[0] ?? selection.decided, propensity: 1 }),
  learn: () => undefined,
};
