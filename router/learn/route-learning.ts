/**
 * One learning route's table and threshold from its evidence (ADR 12): the function the operator runs on what it
 * reads from Prometheus and a standalone router runs on its own window, so both write the same `route.learned`.
 *
 * - Entries: the evidence's cells are per (segment, model); each candidate serving that model (the baseline aside:
 *   select never judges it against its own entry) gets the cell's posterior, shrunk toward its own declared
 *   prediction in the segment's difficulty bucket (learner.ts learnTable).
 * - Threshold: the SLO controller on the threshold sums (controller.ts controlFromSums); it is set only when the
 *   window holds MIN_CONTROLLER_LABELS labels and some threshold clears the objective, else null (the objective).
 * - The judge's flip rate from its position disagreements (learner.ts estimateFlipRate), used by both.
 *
 * Everything written is rounded (estimates to 4 decimals, bounds down, the flip rate to 4 decimals), so the same
 * evidence gives the same config and the same hash.
 */
import type { LearnedQuality, ProviderConfig, RouteConfig } from "../config/types.js";
import { controlFromSums, type OperatingPoint } from "./controller.js";
import { thresholdSums, type RouteEvidence } from "./evidence.js";
import { estimateFlipRate, learnTable, type CellEvidence } from "./learner.js";
import { declaredRetention, parseSegmentKey } from "./segment.js";

/** Below this many labels in the window the controller's bounds are too rough to move the threshold. */
export const MIN_CONTROLLER_LABELS = 30;

/** What status (and the logs) say about a learned table. */
export interface LearnedSummary {
  labels: number;
  flipRate: number;
  /** The threshold written; null: the objective. */
  threshold: number | null;
  /** Segments with at least one entry, and the entries. */
  segments: number;
  entries: number;
  /** The controller's operating points: at the objective, then 1 and 2 points below. */
  points: OperatingPoint[];
}

export interface RouteLearning {
  learned: LearnedQuality;
  summary: LearnedSummary;
}

export interface LearnRouteOptions {
  /**
   * A known judge flip rate instead of the estimate from the evidence's position disagreements: `routewise
   * simulate`, whose simulated judge flips labels at --judge-noise and has no position gradings.
   */
  flipRate?: number;
}

/** The route's learned table and threshold; null when the route does not learn or the window holds no label. */
export function learnRoute(
  route: RouteConfig,
  providers: ReadonlyMap<string, ProviderConfig>,
  evidence: RouteEvidence,
  options: LearnRouteOptions = {},
): RouteLearning | null {
  const baseline = providers.get(route.baseline);
  if (!route.learning || !baseline || evidence.labels <= 0) return null;
  const flipRate = Math.round((options.flipRate ?? estimateFlipRate(evidence.judge)) * 1e4) / 1e4;
  const priorSamples = route.learning.priorSamples;
  const entries = learnTable(cellsFor(route, providers, baseline, evidence), {
    flipRate,
    ...(priorSamples === undefined ? {} : { priorSamples }),
  });
  const objective = route.objective.minQualityRetention;
  const control = controlFromSums(thresholdSums(evidence), { objective, flipRate });
  const threshold = evidence.labels >= MIN_CONTROLLER_LABELS && control.met ? control.threshold : null;
  const learned: LearnedQuality = { entries, threshold, flipRate, labels: evidence.labels };
  const summary: LearnedSummary = {
    labels: evidence.labels,
    flipRate,
    threshold,
    segments: new Set(entries.map((e) => e.segment)).size,
    entries: entries.length,
    points: control.points,
  };
  return { learned, summary };
}

/** Each (segment, model) cell as the cells of the route's candidates serving that model, with their priors. */
function cellsFor(
  route: RouteConfig,
  providers: ReadonlyMap<string, ProviderConfig>,
  baseline: ProviderConfig,
  evidence: RouteEvidence,
): CellEvidence[] {
  const candidates = route.candidates.flatMap((c) => {
    const p = providers.get(c.provider);
    return p && p.id !== baseline.id ? [p] : [];
  });
  return evidence.cells.flatMap((cell) => {
    const segment = parseSegmentKey(cell.segment);
    if (!segment) return [];
    const { n, sumRouted, sumBaseline, sumRoutedSq, sumBaselineSq, sumProduct } = cell;
    const sums = { n, sumRouted, sumBaseline, sumRoutedSq, sumBaselineSq, sumProduct };
    return candidates
      .filter((p) => p.model === cell.model)
      .map((p) => ({
        ...sums,
        segment: cell.segment,
        provider: p.id,
        prior: declaredRetention(p, baseline, segment.bucket),
      }));
  });
}
