/**
 * Where a learner plugs into the replay. Per row, in order: `prepare` may change the route the real select() runs
 * with (a learned threshold, learned per-segment quality), `choose` picks the provider to serve from the selection
 * (exploration) and says with what probability, and — only for the judged share of rows, after the row was decided
 * — `learn` receives its (noisy) labels. The static learner is the router as shipped: the policy as configured.
 */
import type { Classification } from "../../router/classify/types.js";
import type { ProviderConfig, RouteConfig } from "../../router/config/types.js";
import type { LabelContext } from "../../router/learn/label.js";
import type { LearnedSummary } from "../../router/learn/route-learning.js";
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
  /** The judged (routed) side: the served provider, or the decided one on a shadow route. */
  served: ProviderConfig;
  baseline: ProviderConfig;
  servedScore: number;
  baselineScore: number;
  propensity: number;
  /**
   * What the router's learning label carries from the decision (router/learn/label.ts): every candidate's
   * predicted retention and estimated cost, the propensity; null when the decision cannot be a label (the route
   * does not learn, a rule pinned it, canary's baseline arm).
   */
  decision: LabelContext | null;
}

/** One change of the SLO controller's threshold (null: the objective). */
export interface ThresholdChange {
  /** The row (0-based) before which the new threshold took effect. */
  row: number;
  /** Labels in the window it was computed from. */
  labels: number;
  threshold: number | null;
}

/** The labels behind an operating point (cli/simulate/learned.ts supportAt). */
export interface PointSupport {
  /** Labels of the window whose π_t choice is not the baseline. */
  away: number;
  /** Of those, judged on π_t's choice (the provider judged is the one π_t picks). */
  matched: number;
  /** The matched labels a threshold that sends labels away needs to pass at the point's objective. */
  required: number;
}

/** What a learning replay's controller did: the report's `controller`. */
export interface ControllerTrace {
  /** Rows between two runs of the learner and the controller (--learn-every). */
  learnEvery: number;
  /** `learning.window`: the most recent judged labels each run uses. */
  window: number;
  /** The judge flip rate the bounds correct for (--judge-noise). */
  flipRate: number;
  runs: number;
  /** The threshold at the first run, then each change. */
  history: ThresholdChange[];
  /** The last run's summary (labels, threshold, operating points); null before any label. */
  last: LearnedSummary | null;
  /** The row of the oldest label in the last run's window. */
  windowStartRow: number | null;
  /** The last run's operating points' support, in the order of `last.points`. */
  support: PointSupport[];
}

export interface Learner {
  readonly name: string;
  prepare(context: RowContext): RouteConfig;
  choose(context: RowContext, selection: Selection, random: () => number): Choice;
  learn(label: JudgedLabel): void;
  /** A learning replay's controller trace (routes with `learning`). */
  controller?(): ControllerTrace;
}

/** The route's policy exactly as configured: nothing is learned. */
export const STATIC_LEARNER: Learner = {
  name: "static",
  prepare: (c) => c.route,
  choose: (_c, selection) => ({ provider: selection.order[0] ?? selection.decided, propensity: 1 }),
  learn: () => undefined,
};
