/**
 * The replay's learner for routes with `learning` (ADR 12): what a standalone router does in-process
 * (router/evaluation/local-learning.ts), on the replay's judged rows.
 *
 * - Labels. A judged row whose decision can be a label (router/learn/label.ts learnsFrom) becomes the router's
 *   LearningLabel: the decision's segment, routed side, propensity and every candidate's predicted retention and
 *   estimated cost (labelContext, as the request record builds it), and the judge's scores in [0,1] as 1–10 grades
 *   (grade = 1 + 9·score), after the simulated judge noise.
 * - Cadence. Every `learnEvery` rows (--learn-every; the first run before row 0) the learner and the SLO controller
 *   run on the most recent `learning.window` labels: router/learn evidenceOf → learnRoute, the functions the
 *   operator runs on Prometheus and a standalone router on its window. The result (table and threshold) is the
 *   route's `learned` until the next run, so the real select() decides the following rows with it. Rows stand in
 *   for the clock: at a steady request rate `--learning-interval` is a fixed number of requests.
 * - Judge noise. The simulated judge flips a label's scores at --judge-noise and grades in one order only, so the
 *   known rate is the flip rate the bounds correct for (learnRoute's `flipRate` option), instead of the estimate
 *   from position disagreements the router makes.
 */
import type { LearnedQuality, RouteConfig } from "../../router/config/types.js";
import { minAwaySupport } from "../../router/learn/controller.js";
import { evidenceOf, thresholdContributions, type LearningLabel } from "../../router/learn/evidence.js";
import { learnRoute } from "../../router/learn/route-learning.js";
import {
  STATIC_LEARNER,
  type ControllerTrace,
  type JudgedLabel,
  type Learner,
  type PointSupport,
  type RowContext,
} from "./learner.js";

const grade = (score: number): number => 1 + 9 * score;

/** Rows between two runs of the learner and the controller when --learn-every is not given. */
export const DEFAULT_LEARN_EVERY = 100;

export interface RouteLearnerOptions {
  /** The simulated judge's flip rate (--judge-noise). */
  flipRate: number;
  /** Rows between two runs (--learn-every). */
  learnEvery: number;
}

interface WindowLabel {
  row: number;
  label: LearningLabel;
}

function labelOf(l: JudgedLabel): LearningLabel | null {
  if (!l.decision) return null;
  return {
    ...l.decision,
    model: l.served.model,
    routed: grade(l.servedScore),
    baseline: grade(l.baselineScore),
    agreement: null,
  };
}

/**
 * The evidence behind an operating point: the window's labels its policy π_t sends away from the baseline, how many
 * of those were judged on π_t's choice (the only ones that say how that choice does), counted as the router's
 * support counters count them (router/learn/evidence.ts thresholdContributions), and how many the controller needs
 * at the point's objective before a threshold that sends labels away can pass (minAwaySupport).
 */
export function supportAt(labels: readonly LearningLabel[], threshold: number, objective: number): PointSupport {
  let away = 0;
  let matched = 0;
  for (const l of labels) {
    const [c] = thresholdContributions(l, [threshold]);
    if (!c?.away) continue;
    away++;
    if (c.weight > 0) matched++;
  }
  return { away, matched, required: minAwaySupport(objective) };
}

export function routeLearner(route: RouteConfig, options: RouteLearnerOptions): Learner {
  const learning = route.learning;
  if (!learning) return STATIC_LEARNER;
  const { flipRate, learnEvery } = options;
  const labels: WindowLabel[] = [];
  let learned: LearnedQuality | undefined = route.learned ?? undefined;
  let lastRun: number | undefined;
  const trace: ControllerTrace = {
    learnEvery,
    window: learning.window,
    flipRate,
    runs: 0,
    history: [],
    last: null,
    windowStartRow: null,
    support: [],
  };
  const run = (c: RowContext): void => {
    lastRun = c.index;
    const window = labels.slice(-learning.window);
    const windowLabels = window.map((w) => w.label);
    const outcome = learnRoute(c.route, c.providers, evidenceOf(windowLabels), { flipRate });
    if (outcome) {
      learned = outcome.learned;
      trace.last = outcome.summary;
      trace.windowStartRow = window[0]?.row ?? null;
      trace.support = outcome.summary.points.map((p) => supportAt(windowLabels, p.threshold, p.objective));
    }
    const threshold = learned?.threshold ?? null;
    const previous = trace.history.at(-1);
    if (!previous || previous.threshold !== threshold)
      trace.history.push({ row: c.index, labels: window.length, threshold });
    trace.runs++;
  };
  return {
    name: "router/learn",
    prepare: (c) => {
      if (lastRun === undefined || c.index - lastRun >= learnEvery) run(c);
      return learned === undefined ? c.route : { ...c.route, learned };
    },
    choose: (_c, selection) => {
      const provider = selection.order[0] ?? selection.decided;
      return { provider, propensity: provider.id === selection.decided.id ? selection.propensity : 1 };
    },
    learn: (l) => {
      const label = labelOf(l);
      if (!label) return;
      labels.push({ row: l.context.index, label });
      if (labels.length > learning.window) labels.splice(0, labels.length - learning.window);
    },
    controller: () => structuredClone(trace),
  };
}
