/**
 * The learned table in selection (ADR 12): a candidate with an entry in the request's segment keeps the objective
 * when its retention lower bound does; without an entry, its declared prediction must reach the SLO controller's
 * threshold (or the objective). The segment key is computed by the caller (router/learn/segment.ts).
 */
import type { LearnedEntry, LearnedQuality, RouteConfig } from "../config/types.js";

type Index = Map<string, Map<string, LearnedEntry>>;

/** One index per learned table (a config's tables are immutable), built on first use. */
const indexes = new WeakMap<LearnedQuality, Index>();

function indexOf(learned: LearnedQuality): Index {
  let index = indexes.get(learned);
  if (!index) {
    index = new Map();
    for (const e of learned.entries) {
      const bySegment = index.get(e.segment) ?? new Map<string, LearnedEntry>();
      bySegment.set(e.provider, e);
      index.set(e.segment, bySegment);
    }
    indexes.set(learned, index);
  }
  return index;
}

/** The learned entry of a provider in the segment, if any. */
export function learnedEntries(
  learned: LearnedQuality | null | undefined,
  segment: string | undefined,
): (providerId: string) => LearnedEntry | undefined {
  if (!learned || segment === undefined) return () => undefined;
  const bySegment = indexOf(learned).get(segment);
  return (id) => bySegment?.get(id);
}

/** The threshold on predicted retention where no entry applies: the controller's, else the objective. */
export function effectiveThreshold(route: Pick<RouteConfig, "learned" | "objective">): number {
  return route.learned?.threshold ?? route.objective.minQualityRetention;
}
