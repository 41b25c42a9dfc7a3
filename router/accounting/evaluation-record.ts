/**
 * The evaluation record: the only writer of judge-sample and feedback metrics and of their log lines
 * (docs/adr/0010-measured-quality.md). The evaluator (router/evaluation) and the feedback endpoint report here;
 * neither imports a metric.
 */
import type { Logger } from "pino";
import { thresholdContributions, thresholdKey, type LearningLabel, type PositionAgreement } from "../learn/evidence.js";
import { feedbackDisagrees } from "../learn/learner.js";
import type { RouterMetrics } from "../metrics/metrics.js";
import type { LearningLedger } from "./learning-ledger.js";

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
  /**
   * A sample with scores (1–10 each); `model` is the routed side's model; `agreement` how the judge's two position
   * gradings relate (absent: the judge was not asked).
   */
  sample(
    route: string,
    model: string,
    scores: { routed: number; baseline: number },
    requestId: string,
    agreement?: PositionAgreement,
  ): void;
  /** A sample that recorded no score; `detail` is already redacted (never a prompt, answer or key). */
  failure(route: string, reason: EvaluationFailureReason, requestId: string, detail?: string): void;
  /** A request the evaluator will not sample after all (not drawn, paused, nothing to compare). */
  skipped(requestId: string): void;
  /** Evaluation spend (one baseline, decided-model or judge call). */
  cost(route: string, usd: number): void;
  /** Whether the spend cap pauses the route's sampling; `paused` of every evaluated route on a config change. */
  paused(route: string, paused: boolean): void;
  /** The evaluated routes changed: their paused gauges, other routes' removed. */
  pausedRoutes(states: ReadonlyMap<string, boolean>): void;
  /**
   * Explicit feedback (score in [0,1]) on the answer to `requestId`. When this router judged that request, the pair
   * (judge's verdict, user's score) also counts toward the judge's flip rate (ADR 12), once per request.
   */
  feedback(route: string, model: string, score: number, requestId?: string): void;
}

/** Judge verdicts kept for pairing with later feedback: the most recent this many samples. */
export const VERDICTS_KEPT = 4096;

/**
 * Learning routes (ADR 12): the ledger the request record writes each judge-sampled decision to, and who else
 * wants each label (a standalone router's in-process learner).
 */
export interface LearningRecording {
  ledger: LearningLedger;
  onLabel?: (route: string, label: LearningLabel) => void;
}

export function createEvaluationRecorder(
  metrics: RouterMetrics,
  logger: Logger,
  learning?: LearningRecording,
): EvaluationRecorder {
  const m = metrics;
  const verdicts = new Map<string, { route: string; routed: number; baseline: number }>();
  return {
    sample: (route, model, s, requestId, agreement) => {
      keepVerdict(verdicts, requestId, { route, routed: s.routed, baseline: s.baseline });
      const context = learning?.ledger.take(requestId);
      const labels = context ? { route, model, segment: context.segment } : { route, model };
      m.evaluationSamples.inc(labels);
      m.evaluationScore.inc({ ...labels, side: "routed" }, s.routed);
      m.evaluationScore.inc({ ...labels, side: "baseline" }, s.baseline);
      m.evaluationScoreSquared.inc({ ...labels, side: "routed" }, s.routed * s.routed);
      m.evaluationScoreSquared.inc({ ...labels, side: "baseline" }, s.baseline * s.baseline);
      m.evaluationScoreProduct.inc(labels, s.routed * s.baseline);
      if (agreement?.ordered) {
        m.judgeOrdered.inc({ route });
        m.judgeDisagreements.inc({ route }, agreement.disagreement);
      }
      if (context) {
        const label: LearningLabel = { ...context, model, ...s, agreement: agreement ?? null };
        recordLabel(m, route, label);
        learning?.onLabel?.(route, label);
      }
      logger.debug({ route, model, requestId, routed: s.routed, baseline: s.baseline }, "Recorded judge sample");
    },
    failure: (route, reason, requestId, detail) => {
      learning?.ledger.take(requestId);
      m.evaluationFailures.inc({ route, reason });
      logger.warn(
        { route, reason, requestId, ...(detail === undefined ? {} : { error: detail }) },
        "Failed to evaluate sample",
      );
    },
    skipped: (requestId) => {
      learning?.ledger.take(requestId);
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
    feedback: (route, model, score, requestId) => {
      m.feedback.inc({ route, model });
      m.feedbackScore.inc({ route, model }, score);
      const verdict = requestId === undefined ? undefined : verdicts.get(requestId);
      if (verdict?.route !== route || requestId === undefined) return;
      verdicts.delete(requestId); // one pair per request, however often its feedback is sent
      m.judgeFeedbackPairs.inc({ route });
      m.judgeFeedbackDisagreements.inc({ route }, feedbackDisagrees(verdict.routed, verdict.baseline, score) ? 1 : 0);
    },
  };
}

/** Keeps a sample's verdict for its feedback, forgetting the oldest past VERDICTS_KEPT (a Map keeps insertion order). */
function keepVerdict<V>(verdicts: Map<string, V>, requestId: string, v: V): void {
  verdicts.set(requestId, v);
  if (verdicts.size <= VERDICTS_KEPT) return;
  const oldest = verdicts.keys().next();
  if (oldest.done !== true) verdicts.delete(oldest.value);
}

/**
 * A label's share of the SLO controller's sums (router/learn/evidence.ts): every threshold's cost, matches and
 * support. Both support series are written at every threshold (by 0 when the label stays with the baseline): the
 * operator reads a missing one as a router without support counters, whose evidence passes no threshold.
 */
function recordLabel(m: RouterMetrics, route: string, l: LearningLabel): void {
  m.learningLabels.inc({ route });
  m.learningBaselineCost.inc({ route }, l.baselineCost);
  for (const c of thresholdContributions(l)) {
    const labels = { route, threshold: thresholdKey(c.threshold) };
    m.learningThresholdCost.inc(labels, c.cost);
    m.learningThresholdAway.inc(labels, c.away ? 1 : 0);
    m.learningThresholdAwayMatched.inc(labels, c.away && c.weight > 0 ? 1 : 0);
    if (c.weight <= 0) continue;
    const w = c.weight;
    m.learningThresholdLabels.inc(labels);
    m.learningThresholdScore.inc({ ...labels, side: "routed" }, w * l.routed);
    m.learningThresholdScore.inc({ ...labels, side: "baseline" }, w * l.baseline);
    m.learningThresholdScoreSquared.inc({ ...labels, side: "routed" }, w * w * l.routed * l.routed);
    m.learningThresholdScoreSquared.inc({ ...labels, side: "baseline" }, w * w * l.baseline * l.baseline);
    m.learningThresholdScoreProduct.inc(labels, w * w * l.routed * l.baseline);
  }
}
