import type { AcceptedReason, ResolvedRefsReason } from "../api/v1alpha1/conditions.js";

export interface ObjectRef {
  kind: "ModelProvider" | "ModelRoute" | "ModelClientKey" | "Secret";
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

/** Any object's identity as messages and keys use it; kind is a string so unvalidated manifests can use it too. */
type Named = Pick<ObjectRef, "namespace" | "name"> & { kind: string };

export function objectKey(ref: Named): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

/** How messages name an object: "ModelRoute team-a/chat". */
export function describeObject(ref: Named): string {
  return `${ref.kind} ${ref.namespace}/${ref.name}`;
}

/** A problem's message with its reason: "ModelProvider team-a/ghost not found (ProviderNotFound)". */
export function problemMessage(p: Problem): string {
  return `${p.message} (${p.reason})`;
}
