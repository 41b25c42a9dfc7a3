import type { AcceptedReason, ResolvedRefsReason } from "../api/v1alpha1/conditions.js";

export interface ObjectRef {
  kind: "ModelProvider" | "ModelRoute" | "Secret";
  namespace: string;
  name: string;
}

/** Something wrong with one object, as found by validation or compilation. */
export interface Problem {
  object: ObjectRef;
  /** JSON-path-like field, e.g. spec.candidates[1].name. */
  field: string;
  /** The condition this problem turns False. */
  condition: "Accepted" | "ResolvedRefs";
  reason: AcceptedReason | ResolvedRefsReason;
  message: string;
}

export function objectKey(ref: Pick<ObjectRef, "kind" | "namespace" | "name">): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

export function formatProblem(p: Problem): string {
  return `${p.object.kind} ${p.object.namespace}/${p.object.name}: ${p.field}: ${p.message} (${p.reason})`;
}
