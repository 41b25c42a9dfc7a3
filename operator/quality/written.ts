/**
 * What this controller last wrote of a route's quality fields, for the moment between its status write and the
 * informer delivering it: a reconcile in that window would otherwise decide on the old status (shadow a route a
 * second time, with a second Event, or move observedTime again). Pure.
 */
import { canonical, type CurrentQuality } from "./plan.js";

export interface WrittenQuality {
  /** canonical(qualityView()) of the status the write replaced. */
  before: string;
  /** What was written. */
  after: CurrentQuality;
}

/** The part of a route's status the quality code reads. */
export function qualityView(s: CurrentQuality | undefined): CurrentQuality {
  return { conditions: (s?.conditions ?? []).filter((c) => c.type === "QualityMet"), ...qualityFieldsOf(s) };
}

/** The status fields quality and learning write (ADR 10, ADR 12), those that are set. */
export function qualityFieldsOf(s: CurrentQuality | undefined): Omit<CurrentQuality, "conditions"> {
  return {
    ...(s?.quality ? { quality: s.quality } : {}),
    ...(s?.savings ? { savings: s.savings } : {}),
    ...(s?.rollout ? { rollout: s.rollout } : {}),
    ...(s?.learned ? { learned: s.learned } : {}),
  };
}

/**
 * The status to decide on: what was written while the cache still shows what the write replaced; the cache once
 * it shows anything else (the write arrived, or someone else wrote since). `stale` says whether to keep the record.
 */
export function overlay(
  cached: CurrentQuality | undefined,
  written: WrittenQuality | undefined,
): { current: CurrentQuality | undefined; stale: boolean } {
  if (!written || canonical(qualityView(cached)) !== written.before) return { current: cached, stale: false };
  return { current: { ...cached, ...written.after }, stale: true };
}
