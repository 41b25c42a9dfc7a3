/**
 * Auto shadow (ADR 10), pure: from a route's spec, its status.rollout as read, its run of low reads and the clock
 * to the rollout it is programmed with and what status.rollout says. Every fact that must survive an operator
 * restart or a leader change is in status.rollout; only the run of consecutive low reads is in memory (a new
 * leader needs two fresh low reads before it shadows a route).
 */
import { REASONS } from "../api/v1alpha1/conditions.js";
import type { RolloutMode } from "../../router/config/types.js";

/** The annotation whose new value resets auto shadow. */
export const RESET_ANNOTATION = "routewise.dev/reset-auto-shadow";
/** Low reads in a row (each with at least minSamples samples) before a route is shadowed. */
export const LOW_READS_TO_SHADOW = 2;
/** The reason of status.rollout and of the Event when the operator programs a route as shadow. */
export const AUTO_SHADOW_REASON = REASONS.QualityMet.belowObjective;
/** The reason of the Event when auto shadow is reset. */
export const AUTO_SHADOW_RESET_REASON = "AutoShadowReset";

export interface RolloutStatus {
  effectiveMode: RolloutMode;
  /** QualityBelowObjective while auto shadow holds, else "". */
  reason: string;
  since: string;
  /** The generation the last auto shadow decision (shadow or reset) was made for; absent before any. */
  generation?: number;
  resetValue?: string;
}

/** The in-memory run of low reads of one route: the last reading counted and how many in a row were low. */
export interface Streak {
  seq: number;
  low: number;
}

export interface RolloutInput {
  specMode: RolloutMode;
  /** spec.rollout.autoShadow with its default (true). */
  autoShadow: boolean;
  generation: number;
  /** The reset annotation's value, if set. */
  annotation: string | undefined;
  current: RolloutStatus | undefined;
  streak: Streak;
  /** The newest reading's sequence number and whether it was low (QualityMet False), or null before any. */
  read: { seq: number; low: boolean } | null;
  now: string;
  /** How long after a reset no auto shadow happens (one measurement window). */
  holdMs: number;
}

export interface RolloutDecision {
  rollout: RolloutStatus;
  /** Programmed as shadow by the operator (the compiler's auto-shadow set). */
  shadowed: boolean;
  streak: Streak;
  event: { type: "Normal" | "Warning"; reason: string; message: string } | null;
}

export function decideRollout(i: RolloutInput): RolloutDecision {
  const cur = i.current;
  if (cur && isAutoShadowed(cur)) return whileShadowed(i, cur);
  const streak = nextStreak(i.streak, i.read, holding(cur, i.now, i.holdMs));
  const resetValue = i.annotation ?? cur?.resetValue;
  const enabled = i.autoShadow && i.specMode !== "shadow";
  if (enabled && streak.low >= LOW_READS_TO_SHADOW) return shadow(i, streak, resetValue);
  return { rollout: steady(i, cur, resetValue), shadowed: false, streak, event: null };
}

/** status.rollout says the operator programs the route as shadow. */
export function isAutoShadowed(r: RolloutStatus): boolean {
  return r.effectiveMode === "shadow" && r.reason === AUTO_SHADOW_REASON;
}

/** The spec's mode; `since` kept while it stays, the last decision's generation and the reset value carried. */
function steady(i: RolloutInput, cur: RolloutStatus | undefined, resetValue: string | undefined): RolloutStatus {
  if (!cur) return clean({ effectiveMode: i.specMode, reason: "", since: i.now, generation: undefined, resetValue });
  const since = cur.effectiveMode === i.specMode ? cur.since : i.now;
  return clean({ effectiveMode: i.specMode, reason: "", since, generation: cur.generation, resetValue });
}

function shadow(i: RolloutInput, streak: Streak, resetValue: string | undefined): RolloutDecision {
  const rollout = clean({
    effectiveMode: "shadow",
    reason: AUTO_SHADOW_REASON,
    since: i.now,
    generation: i.generation,
    resetValue,
  });
  const message = `measured quality stayed below the objective on ${streak.low} reads in a row: programmed as shadow (the baseline answers) until the spec changes or the ${RESET_ANNOTATION} annotation gets a new value`;
  return { rollout, shadowed: true, streak, event: { type: "Warning", reason: AUTO_SHADOW_REASON, message } };
}

/** Auto shadow holds until the generation moves on or the annotation has a value not acted on yet. */
function whileShadowed(i: RolloutInput, cur: RolloutStatus): RolloutDecision {
  const byGeneration = cur.generation !== i.generation;
  const byAnnotation = i.annotation !== undefined && i.annotation !== cur.resetValue;
  if (!byGeneration && !byAnnotation)
    return { rollout: cur, shadowed: true, streak: { seq: i.read?.seq ?? i.streak.seq, low: 0 }, event: null };
  const resetValue = i.annotation ?? cur.resetValue;
  const rollout = clean({ effectiveMode: i.specMode, reason: "", since: i.now, generation: i.generation, resetValue });
  const why = byGeneration
    ? `the spec changed (generation ${i.generation})`
    : `${RESET_ANNOTATION} is now ${JSON.stringify(i.annotation)}`;
  const message = `auto shadow reset because ${why}: programmed as ${i.specMode} again; no auto shadow for one measurement window`;
  return {
    rollout,
    shadowed: false,
    streak: { seq: i.read?.seq ?? i.streak.seq, low: 0 },
    event: { type: "Normal", reason: AUTO_SHADOW_RESET_REASON, message },
  };
}

/**
 * After a reset (status.rollout has a generation, no reason, and the spec's mode since the reset), one window
 * passes before the next auto shadow, so samples of the old policy do not judge the new one.
 */
export function holding(cur: RolloutStatus | undefined, now: string, holdMs: number): boolean {
  if (cur?.generation === undefined || cur.reason !== "") return false;
  return Date.parse(now) - Date.parse(cur.since) < holdMs;
}

/** Counts a reading once (by its sequence number); reads during a hold do not count. */
export function nextStreak(prev: Streak, read: RolloutInput["read"], held: boolean): Streak {
  if (read === null || read.seq === prev.seq) return held ? { seq: prev.seq, low: 0 } : prev;
  return { seq: read.seq, low: read.low && !held ? prev.low + 1 : 0 };
}

function clean(r: {
  effectiveMode: RolloutMode;
  reason: string;
  since: string;
  generation: number | undefined;
  resetValue: string | undefined;
}): RolloutStatus {
  return {
    effectiveMode: r.effectiveMode,
    reason: r.reason,
    since: r.since,
    ...(r.generation === undefined ? {} : { generation: r.generation }),
    ...(r.resetValue === undefined ? {} : { resetValue: r.resetValue }),
  };
}
