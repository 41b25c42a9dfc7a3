/**
 * Which statuses this controller writes, and what they say. Pure: from the validated objects and this
 * controller's gateway compiles to one planned write per object.
 *
 * - A gateway: only by the controller it names.
 * - A route or client key: one entry in status.parents per parent gateway, written by that gateway's controller
 *   (entries of other controllers are kept as they are); the top-level conditions summarise the first parent and
 *   are written by its controller only, and so are a route's quality fields and both kinds' budget spend. A parentRef to a gateway that does not exist in the install namespace gets a
 *   NoMatchingParent entry from this controller.
 * - A provider: by the controller of the first gateway (by namespace/name) in the provider's namespace or
 *   admitting it, so two controllers never both write one provider's status.
 */
import { REASONS, type Condition } from "../api/v1alpha1/conditions.js";
import {
  admitsNamespace,
  parentRefsOf,
  refKey,
  type GatewayView,
  type NamespaceLabels,
  type ParentRef,
} from "../compile/attachment.js";
import type { CompileResult } from "../compile/compile.js";
import { GATEWAY_DEFAULTS } from "../compile/defaults.js";
import { objectKey } from "../compile/problems.js";
import type { GatewayCompile } from "../compile/gateway.js";
import type { GatewayOwner } from "./kube.js";
import { computeStatus, missingParentConditions, toCondition, type ObjectStatus, type ParentStatus } from "./status.js";
import type { Candidate } from "./world.js";
import type { QualityFields } from "../quality/plan.js";
import { qualityFieldsOf } from "../quality/written.js";
import type { BudgetStatus } from "../quality/spend.js";

/** An Event to record once the status that explains it is written. */
export interface PlannedEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/** One gateway's compile and how writing its outputs went. */
export interface GatewayOutcome {
  compiled: GatewayCompile;
  owner: GatewayOwner;
  /** Why its outputs could not be written (redacted, short), or null. */
  writeError: string | null;
}

export interface StatusPlanInput {
  objects: Candidate[];
  outcomes: GatewayOutcome[];
  /** Every valid gateway, of any controller. */
  allGateways: GatewayView[];
  /** This controller's gateways in the install namespace (the default parent). */
  defaults: GatewayView[];
  /** The parents of every valid route, by route key. */
  parents: Map<string, ParentRef[]>;
  controllerName: string;
  installNamespace: string;
  namespaces: NamespaceLabels;
  now: string;
  /** Routes whose top-level status this controller writes: their quality fields (ADR 10), by route key. */
  quality?: ReadonlyMap<string, { fields: QualityFields; event: PlannedEvent | null }>;
  /**
   * Routes and client keys with a budget whose top-level status this controller writes: status.budget, by object
   * key (issue 17). An object with none here and a budget in its status has it removed.
   */
  budgets?: ReadonlyMap<string, BudgetStatus>;
}

export interface StatusPlan {
  candidate: Candidate;
  /** The whole status the object should have (compared with its current one to skip no-op writes). */
  status: ObjectStatus;
  /** What to merge-patch into status (a non-owner writes only its parents entries). */
  patch: Partial<ObjectStatus> | Record<string, unknown>;
  /** Events to record after the write. */
  events?: PlannedEvent[];
}

export function statusPlan(i: StatusPlanInput): StatusPlan[] {
  return i.objects.flatMap((c): StatusPlan[] => {
    const plan =
      c.kind === "ModelGateway"
        ? gatewayPlan(c, i)
        : c.kind === "ModelRoute" || c.kind === "ModelClientKey"
          ? attachedPlan(c, i)
          : providerPlan(c, i);
    return plan ? [plan] : [];
  });
}

function gatewayPlan(c: Candidate, i: StatusPlanInput): StatusPlan | null {
  if (rawControllerName(c) !== i.controllerName) return null;
  const outcome = i.outcomes.find(
    (o) => o.compiled.gateway.namespace === c.namespace && o.compiled.gateway.name === c.name,
  );
  const generation = c.obj.metadata?.generation ?? 0;
  const previous = c.obj.status?.conditions ?? [];
  const at = { previous, now: i.now, generation };
  const accepted = gatewayAccepted(c, at);
  const programmed = gatewayProgrammed(outcome, at);
  const bad = [accepted, programmed].find((x) => x.status !== "True");
  const ready = bad
    ? cond("Ready", false, bad.reason, bad.message, at)
    : cond("Ready", true, REASONS.Ready.ok, `serving router config ${outcome?.compiled.result.config.hash ?? ""}`, at);
  const status: ObjectStatus = {
    observedGeneration: generation,
    conditions: [accepted, programmed, ready],
    ...(outcome ? programs(outcome) : {}),
  };
  return { candidate: c, status, patch: status };
}

function programs(o: GatewayOutcome): Pick<ObjectStatus, "attachedRoutes" | "configMapName" | "configHash"> {
  const { config } = o.compiled.result;
  return { attachedRoutes: config.routes.length, configMapName: `${o.owner.name}-router`, configHash: config.hash };
}

function gatewayAccepted(c: Candidate, at: { previous: Condition[]; now: string; generation: number }): Condition {
  return c.invalid.length > 0
    ? cond("Accepted", false, REASONS.Accepted.invalid, c.invalid.join("; "), at)
    : cond("Accepted", true, REASONS.Accepted.ok, "the spec is valid", at);
}

function gatewayProgrammed(
  outcome: GatewayOutcome | undefined,
  at: { previous: Condition[]; now: string; generation: number },
): Condition {
  if (!outcome) return cond("Programmed", false, REASONS.Programmed.notProgrammed, "the spec is not valid", at);
  if (outcome.writeError !== null)
    return cond("Programmed", false, REASONS.Programmed.writeFailed, outcome.writeError, at);
  const { config } = outcome.compiled.result;
  const message = `router config ${config.hash} (${config.routes.length} routes) in ConfigMap ${outcome.owner.name}-router`;
  return cond("Programmed", true, REASONS.Programmed.ok, message, at);
}

/** A route's or client key's plan: its parents entries, and its top-level status when its first parent is ours. */
function attachedPlan(c: Candidate, i: StatusPlanInput): StatusPlan | null {
  const key = objectKey(c);
  const refs = i.parents.get(key) ?? parentRefsOf({ namespace: c.namespace, ...rawParentRefs(c) }, i.defaults);
  const current = c.obj.status as ObjectStatus | undefined;
  const entries = refs.flatMap((ref) => {
    const entry = parentEntry(c, ref, i, current);
    return entry ? [entry] : [];
  });
  if (entries.length === 0) return null;
  const others = (current?.parents ?? []).filter((p) => p.controllerName !== i.controllerName);
  const parents = [...others, ...entries.map((e) => e.parent)].sort((a, b) =>
    refKey(a.parentRef) < refKey(b.parentRef) ? -1 : 1,
  );
  const first = refs[0];
  const top = first ? entries.find((e) => refKey(e.parent.parentRef) === refKey(first)) : undefined;
  if (top) return topPlan(c, i, { ...top.full, parents }, current);
  const status: ObjectStatus = {
    ...(current ?? { observedGeneration: 0, conditions: [] }),
    parents,
  };
  return { candidate: c, status, patch: { parents } };
}

type Entry = { parent: ParentStatus; full: ObjectStatus };

/**
 * The plan of a route or key whose top-level status this controller writes: with a route's quality fields when it
 * is programmed, and the budget spend of either.
 */
function topPlan(c: Candidate, i: StatusPlanInput, full: ObjectStatus, current: ObjectStatus | undefined): StatusPlan {
  const key = objectKey(c);
  const q = full.servingGeneration === undefined ? undefined : i.quality?.get(key);
  const budget = i.budgets?.get(key);
  const withFields = c.kind === "ModelRoute" ? withQuality(full, q?.fields, current) : full;
  const status = budget ? { ...withFields, budget } : withFields;
  return { candidate: c, status, patch: qualityPatch(status, current), events: q?.event ? [q.event] : [] };
}

/**
 * The top-level status with QualityMet (after the other conditions) and the quality fields; without any (a route
 * not programmed), the quality fields it has stay as they are.
 */
function withQuality(
  status: ObjectStatus,
  q: QualityFields | undefined,
  current: ObjectStatus | undefined,
): ObjectStatus {
  if (!q) {
    return { ...status, ...qualityFieldsOf(current) };
  }
  const conditions = q.condition ? [...status.conditions, q.condition] : status.conditions;
  return {
    ...status,
    conditions,
    rollout: q.rollout,
    ...(q.quality ? { quality: q.quality } : {}),
    ...(q.savings ? { savings: q.savings } : {}),
    ...(q.learned ? { learned: q.learned } : {}),
  };
}

/**
 * The merge patch for a route's status: a quality or savings field the status had and should no longer have is
 * set to null (a merge patch keeps what it does not mention).
 */
function qualityPatch(status: ObjectStatus, current: ObjectStatus | undefined): Record<string, unknown> {
  const patch: Record<string, unknown> = { ...status };
  for (const field of ["quality", "savings", "learned", "budget"] as const) {
    const was = current?.[field];
    if (!was) continue;
    const now = status[field] as Record<string, unknown> | undefined;
    patch[field] = now ? { ...nulls(was), ...now } : null;
  }
  return patch;
}

function nulls(o: object): Record<string, null> {
  return Object.fromEntries(Object.keys(o).map((k) => [k, null]));
}

/** This controller's entry for one parent of a route or key: its conditions there, and the full status they imply. */
function parentEntry(
  c: Candidate,
  ref: ParentRef,
  i: StatusPlanInput,
  current: ObjectStatus | undefined,
): Entry | null {
  const previous = current?.parents?.find((p) => refKey(p.parentRef) === refKey(ref))?.conditions ?? [];
  const outcome = i.outcomes.find((o) => refKey(o.compiled.gateway) === refKey(ref));
  if (!outcome) return missingParentEntry(c, ref, i, previous);
  if (!attachedTo(c, outcome, i)) return null;
  const result = withProblems(outcome.compiled.result, outcome.compiled.refused);
  const full = computeStatus({
    ...statusBase(c, i.now),
    previous,
    kind: c.kind === "ModelClientKey" ? "ModelClientKey" : "ModelRoute",
    result,
    writeError: outcome.writeError,
  });
  return { parent: { parentRef: ref, controllerName: i.controllerName, conditions: full.conditions }, full };
}

/** A parentRef to a gateway that does not exist: reported by the controller of the install namespace it names. */
function missingParentEntry(c: Candidate, ref: ParentRef, i: StatusPlanInput, previous: Condition[]): Entry | null {
  const exists = i.allGateways.some((g) => refKey(g) === refKey(ref));
  if (exists || ref.namespace !== i.installNamespace) return null;
  const generation = c.obj.metadata?.generation ?? 0;
  const conditions = missingParentConditions(`ModelGateway ${refKey(ref)} not found`, generation, previous, i.now);
  return {
    parent: { parentRef: ref, controllerName: i.controllerName, conditions },
    full: { observedGeneration: generation, conditions },
  };
}

/** The gateway whose controller writes a provider's status: the first in its namespace or admitting it. */
function providerOwner(c: Candidate, i: StatusPlanInput): GatewayView | undefined {
  return [...i.allGateways]
    .sort((a, b) => (refKey(a) < refKey(b) ? -1 : 1))
    .find(
      (g) => g.namespace === c.namespace || admitsNamespace(g.allowedRoutes, g.namespace, c.namespace, i.namespaces),
    );
}

/**
 * Whether a route or key is this gateway's to report on: attached (valid ones), or, for one that failed
 * validation, naming the gateway or in a namespace the gateway admits.
 */
function attachedTo(c: Candidate, outcome: GatewayOutcome, i: StatusPlanInput): boolean {
  if (c.invalid.length === 0) return outcome.compiled.attached.has(objectKey(c));
  const gw = outcome.compiled.gateway;
  const explicit = (rawParentRefs(c).parentRefs ?? []).length > 0;
  return explicit || admitsNamespace(gw.allowedRoutes, gw.namespace, c.namespace, i.namespaces);
}

function providerPlan(c: Candidate, i: StatusPlanInput): StatusPlan | null {
  const first = i.outcomes[0];
  if (providerOwner(c, i)?.controllerName !== i.controllerName || !first) return null;
  const key = objectKey(c);
  const programmedIn = i.outcomes.filter((o) => o.compiled.result.programmed.includes(key));
  const result: CompileResult = {
    ...first.compiled.result,
    programmed: programmedIn.length > 0 ? [key] : [],
  };
  const writeError = programmedIn.find((o) => o.writeError !== null)?.writeError ?? null;
  const status = computeStatus({ ...statusBase(c, i.now), kind: "ModelProvider", result, writeError });
  return { candidate: c, status, patch: status };
}

function statusBase(c: Candidate, now: string) {
  return {
    namespace: c.namespace,
    name: c.name,
    generation: c.obj.metadata?.generation ?? 0,
    previous: c.obj.status?.conditions ?? [],
    invalid: c.invalid,
    now,
  };
}

function withProblems(result: CompileResult, extra: CompileResult["problems"]): CompileResult {
  return extra.length === 0 ? result : { ...result, problems: [...result.problems, ...extra] };
}

function rawControllerName(c: Candidate): string {
  const spec = c.obj.spec as { controllerName?: unknown } | undefined;
  return typeof spec?.controllerName === "string" ? spec.controllerName : GATEWAY_DEFAULTS["spec.controllerName"];
}

/** An invalid route's or key's parentRefs, as far as they can be read. */
function rawParentRefs(c: Candidate): { parentRefs?: { name: string; namespace?: string }[] } {
  const refs = (c.obj.spec as { parentRefs?: unknown } | undefined)?.parentRefs;
  if (!Array.isArray(refs)) return {};
  const parentRefs = refs.flatMap((r: unknown) => {
    const ref = r as { name?: unknown; namespace?: unknown };
    if (typeof ref.name !== "string") return [];
    return [{ name: ref.name, ...(typeof ref.namespace === "string" ? { namespace: ref.namespace } : {}) }];
  });
  return { parentRefs };
}

function cond(
  type: Condition["type"],
  ok: boolean,
  reason: string,
  message: string,
  at: { previous: Condition[]; now: string; generation: number },
): Condition {
  return toCondition({ type, ok, reason, message }, at);
}
