/**
 * Pure status computation: from the compile result, the object's generation and its previous conditions to
 * the conditions it should carry. lastTransitionTime changes only when a condition's status flips.
 */
import { REASONS, type Condition, type ConditionType } from "../api/v1alpha1/conditions.js";
import type { CompileResult } from "../compile/compile.js";
import { objectKey, type Problem } from "../compile/problems.js";
import type { RolloutStatus } from "../quality/auto-shadow.js";
import { canonical, type LearnedStatus, type QualityStatus, type SavingsStatus } from "../quality/plan.js";
import type { BudgetStatus } from "../quality/spend.js";

/** A route's status on one gateway, written by that gateway's controller (Gateway API's RouteParentStatus). */
export interface ParentStatus {
  parentRef: { namespace: string; name: string };
  controllerName: string;
  conditions: Condition[];
}

export interface ObjectStatus {
  observedGeneration: number;
  conditions: Condition[];
  candidateCount?: number;
  /** Routes: the generation the gateway serves (below observedGeneration when the last good one serves). */
  servingGeneration?: number;
  parents?: ParentStatus[];
  /** Gateways: what they program. */
  attachedRoutes?: number;
  configMapName?: string;
  configHash?: string;
  /** Routes (top-level owner only): measured quality, savings and how the route is programmed (ADR 10). */
  quality?: QualityStatus;
  savings?: SavingsStatus;
  rollout?: RolloutStatus;
  /** Learning routes (top-level owner only): the summary of route.learned (ADR 12). */
  learned?: LearnedStatus;
  /** Routes and client keys with a budget (top-level owner only): this period's spend (issue 17). */
  budget?: BudgetStatus;
}

export interface Outcome {
  type: ConditionType;
  ok: boolean;
  reason: string;
  message: string;
}

export interface StatusInput {
  kind: "ModelProvider" | "ModelRoute" | "ModelGateway" | "ModelClientKey";
  namespace: string;
  name: string;
  generation: number;
  previous: Condition[];
  /** Validation errors (schema/CEL) found by the operator itself. */
  invalid: string[];
  result: CompileResult;
  /** Why the operator failed to write the router config (redacted, short), or null when it was written. */
  writeError: string | null;
  now: string;
}

export function computeStatus(i: StatusInput): ObjectStatus {
  const key = objectKey(i);
  const mine = i.result.problems.filter((p) => objectKey(p.object) === key);
  const accepted = acceptedOutcome(
    i.invalid,
    mine.filter((p) => p.condition === "Accepted"),
  );
  const refs = refsOutcome(mine.filter((p) => p.condition === "ResolvedRefs"));
  const lastGood = i.result.lastGood[key];
  const programmed =
    lastGood === undefined
      ? programmedOutcome(i.result.programmed.includes(key), i.writeError, i.result.config.hash, accepted, refs)
      : servingLastGood(lastGood, i.generation, i.writeError);
  // A provider no route uses yet is still ready to be used: its Ready does not wait for Programmed.
  const gates = i.kind === "ModelProvider" ? [accepted, refs] : [accepted, refs, programmed];
  const firstBad = gates.find((o) => !o.ok);
  const ready: Outcome = firstBad
    ? { type: "Ready", ok: false, reason: firstBad.reason, message: firstBad.message }
    : {
        type: "Ready",
        ok: true,
        reason: REASONS.Ready.ok,
        message: `serving in router config ${i.result.config.hash}`,
      };
  const conditions = [accepted, refs, programmed, ready].map((o) => toCondition(o, i));
  const status: ObjectStatus = { observedGeneration: i.generation, conditions };
  if (i.kind === "ModelRoute") {
    status.candidateCount = i.result.candidateCounts[key] ?? 0;
    if (i.result.programmed.includes(key)) status.servingGeneration = lastGood ?? i.generation;
  }
  return status;
}

function writeFailed(writeError: string): Outcome {
  return {
    type: "Programmed",
    ok: false,
    reason: REASONS.Programmed.writeFailed,
    message: `could not write the router config (${writeError}); retrying with backoff`,
  };
}

/** The newest generation did not compile; the gateway keeps serving the last good one. */
function servingLastGood(served: number, generation: number, writeError: string | null): Outcome {
  if (writeError !== null) return writeFailed(writeError);
  return {
    type: "Programmed",
    ok: true,
    reason: REASONS.Programmed.lastGood,
    message: `serving generation ${served}, the last good one; generation ${generation} is not programmed (see Accepted and ResolvedRefs)`,
  };
}

/** Conditions of an object the operator finds by name only (a parentRef to a gateway that does not exist). */
export function missingParentConditions(message: string, generation: number, previous: Condition[], now: string) {
  const i = { previous, now, generation };
  return [
    toCondition({ type: "Accepted", ok: false, reason: REASONS.Accepted.noMatchingParent, message }, i),
    toCondition(
      { type: "Programmed", ok: false, reason: REASONS.Programmed.notProgrammed, message: "no such gateway" },
      i,
    ),
    toCondition({ type: "Ready", ok: false, reason: REASONS.Accepted.noMatchingParent, message }, i),
  ];
}

function acceptedOutcome(invalid: string[], problems: Problem[]): Outcome {
  if (invalid.length > 0)
    return { type: "Accepted", ok: false, reason: REASONS.Accepted.invalid, message: invalid.join("; ") };
  const first = problems[0];
  if (first) return { type: "Accepted", ok: false, reason: first.reason, message: describe(problems) };
  return { type: "Accepted", ok: true, reason: REASONS.Accepted.ok, message: "the spec is valid" };
}

function refsOutcome(problems: Problem[]): Outcome {
  const first = problems[0];
  if (first) return { type: "ResolvedRefs", ok: false, reason: first.reason, message: describe(problems) };
  return { type: "ResolvedRefs", ok: true, reason: REASONS.ResolvedRefs.ok, message: "all references resolved" };
}

function programmedOutcome(
  included: boolean,
  writeError: string | null,
  hash: string,
  accepted: Outcome,
  refs: Outcome,
): Outcome {
  if (!included) {
    const why = !accepted.ok ? "not accepted" : !refs.ok ? "references unresolved" : "not included";
    return {
      type: "Programmed",
      ok: false,
      reason: REASONS.Programmed.notProgrammed,
      message: `left out of the router config (${why})`,
    };
  }
  if (writeError !== null) return writeFailed(writeError);
  return { type: "Programmed", ok: true, reason: REASONS.Programmed.ok, message: `included in router config ${hash}` };
}

function describe(problems: Problem[]): string {
  return problems.map((p) => `${p.field}: ${p.message}`).join("; ");
}

/** A condition from an outcome; lastTransitionTime moves only when the status flips. */
export function toCondition(o: Outcome, i: Pick<StatusInput, "previous" | "now" | "generation">): Condition {
  const status = o.ok ? "True" : "False";
  const prev = i.previous.find((c) => c.type === o.type);
  return {
    type: o.type,
    status,
    reason: o.reason,
    message: o.message,
    observedGeneration: i.generation,
    lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : i.now,
  };
}

/** True when two statuses say the same thing (so no write is needed). */
export function sameStatus(a: ObjectStatus | undefined, b: ObjectStatus): boolean {
  if (!a) return false;
  return JSON.stringify(normalise(a)) === JSON.stringify(normalise(b));
}

/**
 * True when two statuses differ at most in their conditions' lastTransitionTime: a status planned again over the
 * same cached object (which stamps a new condition with the time of planning) says what the first one said.
 */
export function sameButTransitionTimes(a: ObjectStatus, b: ObjectStatus): boolean {
  return JSON.stringify(normalise(a, false)) === JSON.stringify(normalise(b, false));
}

/** What a status says, comparable as JSON; `times`: with the conditions' lastTransitionTime. */
function normalise(s: ObjectStatus, times = true) {
  return {
    observedGeneration: s.observedGeneration,
    candidateCount: s.candidateCount,
    servingGeneration: s.servingGeneration,
    attachedRoutes: s.attachedRoutes,
    configMapName: s.configMapName,
    configHash: s.configHash,
    quality: canonical(s.quality),
    savings: canonical(s.savings),
    rollout: canonical(s.rollout),
    learned: canonical(s.learned),
    budget: canonical(s.budget),
    conditions: normaliseConditions(s.conditions, times),
    parents: s.parents?.map((p) => [
      p.parentRef.namespace,
      p.parentRef.name,
      p.controllerName,
      normaliseConditions(p.conditions, times),
    ]),
  };
}

function normaliseConditions(conditions: Condition[], times: boolean) {
  return [...conditions]
    .sort((x, y) => (x.type < y.type ? -1 : 1))
    .map((c) => [c.type, c.status, c.reason, c.message, c.observedGeneration, times ? c.lastTransitionTime : ""]);
}
