/**
 * The evaluation record: the only writer of judge-sample and feedback metrics and of their log lines
 * (docs/adr/0010-measured-quality.md). The evaluator (router/evaluation) and the feedback endpoint report here;
 * neither imports a metric.
 */
import type { Logger } from "pino";
import type { RouterMetrics } from "../metrics/metrics.js";

/** routewise_evaluation_failures_total's reasons. */
export const EVALUATION_FAILURE_REASONS = [
  "baseline_error",
  "routed_error",
  "judge_error",
  "unparsable_verdict",
  "queue_full",
] as const;
export type EvaluationFailureReason = (typeof EVALUATION_FAILURE_REASONS)[number];

export interface EvaluationRecorder {
  /** A sample with scores (1–10 each); `model` is the routed side's model. */
  sample(route: string, model: string, scores: { routed: number; baseline: number }, requestId: string): void;
  /** A sample that recorded no score; `detail` is already redacted (never a prompt, answer or key). */
  failure(route: string, reason: EvaluationFailureReason, requestId: string, detail?: string): void;
  /** Evaluation spend (one baseline, decided-model or judge call). */
  cost(route: string, usd: number): void;
  /** Whether the spend cap pauses the route's sampling; `paused` of every evaluated route on a config change. */
  paused(route: string, paused: boolean): void;
  /** The evaluated routes changed: their paused gauges, other routes' removed. */
  pausedRoutes(states: ReadonlyMap<string, boolean>): void;
  /** Explicit feedback (score in [0,1]). */
  feedback(route: string, model: string, score: number): void;
}

export function createEvaluationRecorder(metrics: RouterMetrics, logger: Logger): EvaluationRecorder {
  const m = metrics;
  return {
    sample: (route, model, s, requestId) => {
      m.evaluationSamples.inc({ route, model });
      m.evaluationScore.inc({ route, model, side: "routed" }, s.routed);
      m.evaluationScore.inc({ route, model, side: "baseline" }, s.baseline);
      m.evaluationScoreSquared.inc({ route, model, side: "routed" }, s.routed * s.routed);
      m.evaluationScoreSquared.inc({ route, model, side: "baseline" }, s.baseline * s.baseline);
      m.evaluationScoreProduct.inc({ route, model }, s.routed * s.baseline);
      logger.debug({ route, model, requestId, routed: s.routed, baseline: s.baseline }, "Recorded judge sample");
    },
    failure: (route, reason, requestId, detail) => {
      m.evaluationFailures.inc({ route, reason });
      logger.warn(
        { route, reason, requestId, ...(detail === undefined ? {} : { error: detail }) },
        "Failed to evaluate sample",
      );
    },
    cost: (route, usd) => {
      m.evaluationCost.inc({ route }, usd);
    },
    paused: (route, paused) => {
      m.evaluationPaused.set({ route }, paused ? 1 : 0);
    },
    pausedRoutes: (states) => {
      m.evaluationPaused.reset();
      for (const [route, paused] of states) m.evaluationPaused.set({ route }, paused ? 1 : 0);
    },
    feedback: (route, model, score) => {
      m.feedback.inc({ route, model });
      m.feedbackScore.inc({ route, model }, score);
    },
  };
}
