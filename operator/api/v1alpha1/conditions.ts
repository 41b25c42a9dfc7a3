/** Condition types and reasons: the one list every writer and reader of status uses. */
export const CONDITION_TYPES = ["Accepted", "ResolvedRefs", "Programmed", "Ready"] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

export const REASONS = {
  Accepted: {
    ok: "Accepted",
    /** The spec breaks a schema, CEL or semantic rule. */
    invalid: "Invalid",
    /** Another ModelRoute claiming the same modelName takes precedence. */
    conflicted: "Conflicted",
    /** The gateway does not admit routes from this namespace, or reserves the model name for others. */
    notAllowedByParent: "NotAllowedByParent",
    /** No ModelGateway of this name exists. */
    noMatchingParent: "NoMatchingParent",
  },
  ResolvedRefs: {
    ok: "ResolvedRefs",
    providerNotFound: "ProviderNotFound",
    providerNotReady: "ProviderNotReady",
    secretNotFound: "SecretNotFound",
    secretKeyNotFound: "SecretKeyNotFound",
    noCandidates: "NoCandidates",
    /** A reference to a provider in another namespace that no ModelReferenceGrant there allows. */
    refNotPermitted: "RefNotPermitted",
  },
  Programmed: {
    ok: "Programmed",
    /** Left out of the router config (see Accepted / ResolvedRefs). */
    notProgrammed: "NotProgrammed",
    /** The operator could not write the router config. */
    writeFailed: "WriteFailed",
    /** The newest generation could not be compiled; the last good one keeps serving. */
    lastGood: "ServingLastGood",
  },
  Ready: {
    ok: "Ready",
  },
} as const;

type Values<T> = T[keyof T];
export type AcceptedReason = Values<(typeof REASONS)["Accepted"]>;
export type ResolvedRefsReason = Values<(typeof REASONS)["ResolvedRefs"]>;

export interface Condition {
  type: ConditionType;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}
