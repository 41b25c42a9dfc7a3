/**
 * Per route, what this controller makes of its latest quality reading (pure): the QualityMet verdict, the auto
 * shadow decision, and the status.quality / status.savings / status.rollout / QualityMet it writes.
 *
 * Rate limit: a route's numbers change only when a new reading arrives (once per --quality-interval), values are
 * rounded to 3 decimals, and status.quality.observedTime moves only together with a value, so a read that finds
 * the same numbers writes nothing.
 */
import type { Condition } from "../api/v1alpha1/conditions.js";
import type { ModelRoute, ModelRouteStatus } from "../api/v1alpha1/types.js";
import { ROUTE_DEFAULTS } from "../compile/defaults.js";
import {
  decideRollout,
  isAutoShadowed,
  RESET_ANNOTATION,
  type RolloutDecision,
  type RolloutStatus,
  type Streak,
} from "./auto-shadow.js";
import type { LearningReading } from "./learning.js";
import type { RouteReading } from "./reading.js";
import { QUALITY_WINDOW } from "./rules.js";
import { qualityVerdict, round3, roundReading, type QualitySource, type Verdict } from "./verdict.js";
import type { LearnedSummary } from "../../router/learn/route-learning.js";

/** The reader's latest result, as the reconciler sees it. */
export interface QualitySnapshot {
  /** A Prometheus URL is configured. */
  configured: boolean;
  /** Increases with every read; 0 before the first. */
  seq: number;
  /** Why the last read failed (redacted), or null. */
  error: string | null;
  readings: ReadonlyMap<string, RouteReading>;
  /** Learning routes' evidence by route key (ADR 12), as of the last learning read. */
  learning: ReadonlyMap<string, LearningReading>;
}

export const NO_QUALITY_SOURCE: QualitySnapshot = {
  configured: false,
  seq: 0,
  error: null,
  readings: new Map(),
  learning: new Map(),
};

export type QualityStatus = NonNullable<ModelRouteStatus["quality"]>;
export type SavingsStatus = NonNullable<ModelRouteStatus["savings"]>;
export type LearnedStatus = NonNullable<ModelRouteStatus["learned"]>;

/** A route's current status, as far as quality is concerned. */
export interface CurrentQuality {
  quality?: QualityStatus;
  savings?: SavingsStatus;
  learned?: LearnedStatus;
  rollout?: RolloutStatus;
  conditions?: Condition[];
}

export interface RouteQuality {
  /** null while a configured Prometheus has not been read yet (the current values stay). */
  verdict: Verdict | null;
  source: QualitySource | null;
  decision: RolloutDecision;
}

export interface DecideInput {
  route: ModelRoute;
  current: CurrentQuality | undefined;
  snapshot: QualitySnapshot;
  streak: Streak;
  now: string;
  holdMs: number;
}

/** The route's fields that quality and auto shadow look at, with their documented defaults. */
export function knobsOf(route: ModelRoute) {
  const s = route.spec;
  const rollout = s.rollout ?? {};
  return {
    hasEvaluation: s.evaluation !== undefined,
    objective: s.objective?.minQualityRetention ?? ROUTE_DEFAULTS["spec.objective.minQualityRetention"],
    minSamples: rollout.minSamples ?? ROUTE_DEFAULTS["spec.rollout.minSamples"],
    specMode: rollout.mode ?? ROUTE_DEFAULTS["spec.rollout.mode"],
    autoShadow: rollout.autoShadow ?? ROUTE_DEFAULTS["spec.rollout.autoShadow"],
    generation: route.metadata.generation ?? 0,
    annotation: route.metadata.annotations?.[RESET_ANNOTATION],
  };
}

/** The route's verdict on the snapshot and its rollout decision. */
export function decideRoute(i: DecideInput): RouteQuality {
  const k = knobsOf(i.route);
  const source = sourceOf(i.snapshot, routeKeyOf(i.route));
  const verdict = source === null ? null : qualityVerdict({ ...k, source });
  const read = source?.kind === "read" && verdict ? { seq: i.snapshot.seq, low: verdict.status === "False" } : null;
  const decision = decideRollout({
    ...k,
    current: i.current?.rollout,
    streak: i.streak,
    read,
    now: i.now,
    holdMs: i.holdMs,
  });
  return { verdict, source, decision };
}

/** Whether another controller's status.rollout (as read) has this route shadowed for its current generation. */
export function shadowedByStatus(route: ModelRoute, current: CurrentQuality | undefined): boolean {
  const r = current?.rollout;
  if (!r || !isAutoShadowed(r)) return false;
  const annotation = route.metadata.annotations?.[RESET_ANNOTATION];
  return r.generation === (route.metadata.generation ?? 0) && (annotation === undefined || annotation === r.resetValue);
}

function sourceOf(snapshot: QualitySnapshot, key: string): QualitySource | null {
  if (!snapshot.configured) return { kind: "none" };
  if (snapshot.error !== null) return { kind: "error", error: snapshot.error };
  const reading = snapshot.readings.get(key);
  return reading ? { kind: "read", reading } : null;
}

export interface QualityFields {
  quality?: QualityStatus;
  savings?: SavingsStatus;
  learned?: LearnedStatus;
  rollout: RolloutStatus;
  /** QualityMet, or null to leave it out. */
  condition: Condition | null;
}

/**
 * A learning route's table as this reconcile compiled it (ADR 12): its summary and the range it was read over when
 * it was computed from fresh evidence; `learns: false` when the route has no spec.learning.
 */
export interface LearnedInput {
  learns: boolean;
  fresh: { summary: LearnedSummary; window: string } | null;
}

/** What status says about the route's quality after this reconcile. */
export function qualityFields(
  q: RouteQuality,
  current: CurrentQuality | undefined,
  hasEvaluation: boolean,
  at: { now: string; generation: number },
  learned: LearnedInput = { learns: false, fresh: null },
): QualityFields {
  const previous = current?.conditions?.find((c) => c.type === "QualityMet");
  const condition = q.verdict ? toQualityCondition(q.verdict, previous, at) : (previous ?? null);
  const numbers = q.source?.kind === "read" ? fromReading(q.source.reading, hasEvaluation, current, at.now) : current;
  return { rollout: q.decision.rollout, condition, ...pick(numbers ?? {}), ...learnedField(learned, current, at.now) };
}

function learnedField(learned: LearnedInput, current: CurrentQuality | undefined, now: string) {
  const table = learned.learns ? learnedStatus(learned.fresh, current?.learned, now) : undefined;
  return table ? { learned: table } : {};
}

/**
 * status.learned: the summary of a freshly computed table, rounded (3 decimals), with observedTime moving only
 * together with a value; without a fresh table, what status says now.
 */
export function learnedStatus(
  fresh: LearnedInput["fresh"],
  current: LearnedStatus | undefined,
  now: string,
): LearnedStatus | undefined {
  if (!fresh) return current;
  const { summary: s, window } = fresh;
  const values: LearnedStatus = {
    labels: s.labels,
    window,
    flipRate: round3(s.flipRate) ?? 0,
    ...(s.threshold === null ? {} : { threshold: s.threshold }),
    segments: s.segments,
    entries: s.entries,
    points: s.points.map((p) => ({
      objective: round3(p.objective) ?? p.objective,
      met: p.met,
      threshold: p.threshold,
      ...finite("retention", p.estimate),
      ...finite("lowerBound", p.lower),
      savings: round3(p.savings) ?? 0,
    })),
  };
  const { observedTime, ...was } = current ?? {};
  const same = observedTime !== undefined && canonical(was) === canonical(values);
  return { ...values, observedTime: same ? observedTime : now };
}

function finite<K extends string>(key: K, x: number): Partial<Record<K, number>> {
  const r = Number.isFinite(x) ? round3(x) : null;
  return r === null ? {} : ({ [key]: r } as Record<K, number>);
}

function pick(n: { quality?: QualityStatus | undefined; savings?: SavingsStatus | undefined }) {
  return { ...(n.quality ? { quality: n.quality } : {}), ...(n.savings ? { savings: n.savings } : {}) };
}

function fromReading(
  reading: RouteReading,
  hasEvaluation: boolean,
  current: CurrentQuality | undefined,
  now: string,
): { quality?: QualityStatus; savings?: SavingsStatus } {
  const r = roundReading(reading);
  return pick({ quality: qualityOf(r, hasEvaluation, current?.quality, now), savings: savingsOf(r) });
}

function qualityOf(
  r: RouteReading,
  hasEvaluation: boolean,
  current: QualityStatus | undefined,
  now: string,
): QualityStatus | undefined {
  if (!hasEvaluation) return undefined;
  const values: QualityStatus = {
    ...(r.retention === null ? {} : { retention: r.retention }),
    ...(r.lowerBound === null ? {} : { lowerBound: r.lowerBound }),
    samples: r.samples ?? 0,
    window: QUALITY_WINDOW,
  };
  const { observedTime, ...was } = current ?? {};
  const same = observedTime !== undefined && canonical(was) === canonical(values);
  return { ...values, observedTime: same ? observedTime : now };
}

function savingsOf(r: RouteReading): SavingsStatus | undefined {
  if (!r.savings) return undefined;
  return {
    ratio: r.savings.ratio,
    ...(r.savings.usdPerHour === null ? {} : { usdPerHour: r.savings.usdPerHour }),
    basis: r.savings.basis,
    window: QUALITY_WINDOW,
  };
}

/** QualityMet; lastTransitionTime moves only when its status flips. */
export function toQualityCondition(
  v: Verdict,
  previous: Condition | undefined,
  at: { now: string; generation: number },
): Condition {
  return {
    type: "QualityMet",
    status: v.status,
    reason: v.reason,
    message: v.message,
    observedGeneration: at.generation,
    lastTransitionTime: previous && previous.status === v.status ? previous.lastTransitionTime : at.now,
  };
}

/** JSON with sorted keys, for comparing status objects whatever order the API server returns their fields in. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}

export function routeKeyOf(r: ModelRoute): string {
  return `ModelRoute/${r.metadata.namespace ?? "default"}/${r.metadata.name}`;
}
