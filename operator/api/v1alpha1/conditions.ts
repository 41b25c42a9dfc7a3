/** Condition types and reasons: the one list every writer and reader of status uses. */
export const CONDITION_TYPES = ["Accepted", "ResolvedRefs", "Programmed", "Ready", "QualityMet"] as const;
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
    /** A ModelClientKey lists a model name no route of the gateway serves (the key is programmed without it). */
    routeNotFound: "RouteNotFound",
    /** A ModelClientKey's Secret value is empty or shorter than 16 characters (a guessable key). */
    keyTooShort: "KeyTooShort",
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
  /** A route's measured quality against its objective (ADR 10); top-level only, not part of Ready. */
  QualityMet: {
    /** True: the measured retention's lower bound is at least objective.minQualityRetention. */
    ok: "ObjectiveMet",
    /** False: the lower bound is below the objective (with at least rollout.minSamples samples). */
    belowObjective: "QualityBelowObjective",
    /** Unknown: fewer samples in the window than rollout.minSamples. */
    insufficientSamples: "InsufficientSamples",
    /** Unknown: no --prometheus-url, or Prometheus could not be read. */
    noMetricsSource: "NoMetricsSource",
    /** Unknown: the route has no spec.evaluation, so nothing measures its quality. */
    noEvaluation: "NoEvaluation",
  },
} as const;

type Values<T> = T[keyof T];
export type AcceptedReason = Values<(typeof REASONS)["Accepted"]>;
export type ResolvedRefsReason = Values<(typeof REASONS)["ResolvedRefs"]>;
export type QualityMetReason = Values<(typeof REASONS)["QualityMet"]>;

export interface Condition {
  type: ConditionType;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}
