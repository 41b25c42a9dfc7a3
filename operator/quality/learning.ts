/**
 * Learning routes' evidence from Prometheus (ADR 12, "Where it runs"): the router's per-segment judge counters and
 * the SLO controller's threshold sums, summed over every replica and over a range holding about `learning.window`
 * labels, turned into router/learn's RouteEvidence. Queries and parsing are pure; learning-reader.ts runs them.
 *
 * The window. A route's window of labels becomes the shortest range of LEARNING_RANGES (15m … 7d) over which the
 * route has at least `learning.window` labels (the longest when none has): one query counts the labels over every
 * range. Ranges are coarse on purpose: the range, and so the evidence, does not move with every read.
 *
 * Exact sums. A counter's increase over the range is `x − x offset R` per series (no extrapolation, so the same
 * counters read the same sums and the table hashes the same); a series that started within the range (a new pod,
 * a new segment) counts whole, and so does one that reset (a restarted container: its value since the restart).
 * A replica gone before now loses its labels from the window: the window errs short, never double.
 */
import { THRESHOLD_GRID, thresholdKey, type CellSums, type RouteEvidence } from "../../router/learn/evidence.js";
import { EMPTY_SUMS, type JudgeSums } from "../../router/learn/sums.js";
import type { VectorSample } from "./prometheus.js";
import { escapeRegex, promString } from "./rules.js";

export const LEARNING_RANGES = ["15m", "30m", "1h", "2h", "3h", "6h", "12h", "1d", "2d", "3d", "7d"] as const;
export type LearningRange = (typeof LEARNING_RANGES)[number];

/** A learning route whose evidence the operator reads. */
export interface LearningTarget {
  key: string;
  route: string;
  namespace: string;
  /** learning.window: labels per window. */
  window: number;
}

export interface LearningReading {
  /** The Prometheus range the evidence covers. */
  range: LearningRange;
  evidence: RouteEvidence;
}

export const LEARNING_METRICS = {
  samples: "routewise_evaluation_samples_total",
  score: "routewise_evaluation_score_total",
  scoreSquared: "routewise_evaluation_score_squared_total",
  scoreProduct: "routewise_evaluation_score_product_total",
  labels: "routewise_learning_labels_total",
  baselineCost: "routewise_learning_baseline_cost_usd_total",
  thresholdLabels: "routewise_learning_threshold_labels_total",
  thresholdScore: "routewise_learning_threshold_score_total",
  thresholdScoreSquared: "routewise_learning_threshold_score_squared_total",
  thresholdScoreProduct: "routewise_learning_threshold_score_product_total",
  thresholdCost: "routewise_learning_threshold_cost_usd_total",
  thresholdAway: "routewise_learning_threshold_away_total",
  thresholdAwayMatched: "routewise_learning_threshold_away_matched_total",
  judgeOrdered: "routewise_evaluation_judge_ordered_total",
  judgeDisagreements: "routewise_evaluation_judge_disagreements_total",
  judgeFeedbackPairs: "routewise_evaluation_judge_feedback_pairs_total",
  judgeFeedbackDisagreements: "routewise_evaluation_judge_feedback_disagreements_total",
} as const;

export type LearningMetric = keyof typeof LEARNING_METRICS;

/** What each metric is summed by (besides namespace and route). */
const GROUPING: Record<LearningMetric, string[]> = {
  samples: ["segment", "model"],
  score: ["segment", "model", "side"],
  scoreSquared: ["segment", "model", "side"],
  scoreProduct: ["segment", "model"],
  labels: [],
  baselineCost: [],
  thresholdLabels: ["threshold"],
  thresholdScore: ["threshold", "side"],
  thresholdScoreSquared: ["threshold", "side"],
  thresholdScoreProduct: ["threshold"],
  thresholdCost: ["threshold"],
  thresholdAway: ["threshold"],
  thresholdAwayMatched: ["threshold"],
  judgeOrdered: [],
  judgeDisagreements: [],
  judgeFeedbackPairs: [],
  judgeFeedbackDisagreements: [],
};

const CELL_METRICS = new Set<LearningMetric>(["samples", "score", "scoreSquared", "scoreProduct"]);

function matcher(routes: readonly string[], extra = ""): string {
  const names = [...new Set(routes)].sort();
  return `{route=~${promString(names.map(escapeRegex).join("|"))}${extra}}`;
}

/** The counter's exact increase over the range, per series (see the header). */
export function windowed(selector: string, range: string): string {
  return `((${selector} - ${selector} offset ${range}) >= 0 or ${selector})`;
}

/** One query: every route's label count over each range, as series labelled `range`. */
export function rangesQuery(routes: readonly string[]): string {
  const selector = LEARNING_METRICS.labels + matcher(routes);
  return LEARNING_RANGES.map(
    (r) => `label_replace(sum by (namespace, route) (${windowed(selector, r)}), "range", "${r}", "", "")`,
  ).join(" or ");
}

/** The shortest range holding `window` labels, else the longest. */
export function rangeFor(samples: readonly VectorSample[], t: Pick<LearningTarget, "route" | "namespace" | "window">) {
  const counts = mine(samples, t);
  for (const r of LEARNING_RANGES) {
    const n = counts.find((s) => s.labels["range"] === r)?.value ?? 0;
    if (n >= t.window) return r;
  }
  return LEARNING_RANGES[LEARNING_RANGES.length - 1] as LearningRange;
}

/** One query per metric for the routes read over `range`. */
export function evidenceQueries(routes: readonly string[], range: string): Record<LearningMetric, string> {
  const out = {} as Record<LearningMetric, string>;
  for (const [metric, name] of Object.entries(LEARNING_METRICS) as [LearningMetric, string][]) {
    const selector = name + matcher(routes, CELL_METRICS.has(metric) ? `,segment!=""` : "");
    const by = ["namespace", "route", ...GROUPING[metric]].join(", ");
    out[metric] = `sum by (${by}) (${windowed(selector, range)})`;
  }
  return out;
}

export type EvidenceSamples = Record<LearningMetric, VectorSample[]>;

/**
 * The target's series: those of its route in its gateway's namespace, else those of its route with no namespace
 * label (a Prometheus that adds none); another gateway's routers' series are not this route's.
 */
export function mine(samples: readonly VectorSample[], t: Pick<LearningTarget, "route" | "namespace">) {
  const route = samples.filter((s) => s.labels["route"] === t.route && Number.isFinite(s.value));
  const here = route.filter((s) => s.labels["namespace"] === t.namespace);
  return here.length > 0 ? here : route.filter((s) => s.labels["namespace"] === undefined);
}

/** The target's evidence from the queries' samples (pure). */
export function evidenceFrom(s: EvidenceSamples, t: LearningTarget): RouteEvidence {
  const of = (m: LearningMetric) => mine(s[m], t);
  const total = (m: LearningMetric): number => of(m).reduce((a, x) => a + x.value, 0);
  const labels = Math.round(total("labels"));
  return {
    labels,
    baselineCost: total("baselineCost"),
    cells: cellsFrom(of),
    thresholds: thresholdsFrom(of, labels),
    judge: {
      ordered: Math.round(total("judgeOrdered")),
      disagreements: total("judgeDisagreements"),
      feedbackPairs: Math.round(total("judgeFeedbackPairs")),
      feedbackDisagreements: Math.round(total("judgeFeedbackDisagreements")),
    },
  };
}

type Of = (m: LearningMetric) => VectorSample[];

/** A series' value among `samples` whose labels include `want`; 0 when none. */
function valueWith(samples: readonly VectorSample[], want: Record<string, string>): number {
  const hit = samples.find((x) => Object.entries(want).every(([k, v]) => x.labels[k] === v));
  return hit?.value ?? 0;
}

/** Which metrics hold a cell's, or a threshold's, score sums. */
interface SumMetrics {
  score: LearningMetric;
  squared: LearningMetric;
  product: LearningMetric;
}
const CELL_SUMS: SumMetrics = { score: "score", squared: "scoreSquared", product: "scoreProduct" };
const THRESHOLD_SUMS: SumMetrics = {
  score: "thresholdScore",
  squared: "thresholdScoreSquared",
  product: "thresholdScoreProduct",
};

function sumsWith(of: Of, m: SumMetrics, want: Record<string, string>): Omit<JudgeSums, "n"> {
  const routed = { ...want, side: "routed" };
  const baseline = { ...want, side: "baseline" };
  return {
    sumRouted: valueWith(of(m.score), routed),
    sumBaseline: valueWith(of(m.score), baseline),
    sumRoutedSq: valueWith(of(m.squared), routed),
    sumBaselineSq: valueWith(of(m.squared), baseline),
    sumProduct: valueWith(of(m.product), want),
  };
}

function cellsFrom(of: Of): CellSums[] {
  return of("samples")
    .flatMap((x): CellSums[] => {
      const segment = x.labels["segment"];
      const model = x.labels["model"];
      if (segment === undefined || model === undefined || x.value <= 0) return [];
      return [
        { segment, model, ...EMPTY_SUMS, n: Math.round(x.value), ...sumsWith(of, CELL_SUMS, { segment, model }) },
      ];
    })
    .sort((a, b) => compare(a.segment, b.segment) || compare(a.model, b.model));
}

/**
 * The grid's thresholds the routers counted a cost for (every label counts one at each), with their support.
 * Routers write both support series of every threshold for every label (0 when it stays with the baseline), so a
 * missing series means routers older than the support counters: matchedAway reads 0 and away every label, so such
 * evidence passes no threshold (the route runs at its objective, as before learning) instead of passing a threshold
 * whose away labels it cannot see.
 */
function thresholdsFrom(of: Of, labels: number): RouteEvidence["thresholds"] {
  const costs = of("thresholdCost");
  return THRESHOLD_GRID.flatMap((threshold) => {
    const key = thresholdKey(threshold);
    const cost = costs.find((x) => x.labels["threshold"] === key);
    if (!cost) return [];
    const want = { threshold: key };
    const matched = Math.round(valueWith(of("thresholdLabels"), want));
    const support = supportOf(of, want, labels);
    return [{ threshold, matched, ...support, cost: cost.value, n: labels, ...sumsWith(of, THRESHOLD_SUMS, want) }];
  });
}

function supportOf(of: Of, want: Record<string, string>, labels: number): { away: number; matchedAway: number } {
  const has = (m: LearningMetric) => of(m).some((x) => x.labels["threshold"] === want["threshold"]);
  return {
    away: has("thresholdAway") ? Math.round(valueWith(of("thresholdAway"), want)) : labels,
    matchedAway: Math.round(valueWith(of("thresholdAwayMatched"), want)),
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
