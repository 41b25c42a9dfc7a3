import { REASONS } from "../api/v1alpha1/conditions.js";
import type { ModelProvider, ModelRoute } from "../api/v1alpha1/types.js";
import type { CandidateConfig, ProviderConfig, RouteConfig, RuleConfig } from "../../router/config/types.js";
import { ROUTE_DEFAULTS } from "./defaults.js";
import { compileBudget } from "./budget.js";
import { DURATION_FIELDS, durationOr, MAX_DURATION, overlongDurations } from "./duration.js";
import { referencePermitted, type GrantView } from "./attachment.js";
import type { Problem } from "./problems.js";

const D = ROUTE_DEFAULTS;

export interface ResolvedCandidates {
  /** Strongest first. */
  candidates: CandidateConfig[];
  baseline: string | null;
  /** The judge's provider id: null when the route has no evaluation or its judge does not resolve. */
  judge: string | null;
  /** The cascade judge verifier's provider id (spec.cascade.judge), or null. */
  cascadeJudge: string | null;
  /** Provider name (as written in the route) → provider id, for every resolved provider. */
  ids: Map<string, string>;
  problems: Problem[];
}

/** What reference resolution looks at. */
export interface ProviderLookup {
  /** Every ModelProvider that exists (valid or not). */
  existing: { namespace: string; name: string }[];
  /** The providers that compiled, by id. */
  compiled: Map<string, ProviderConfig>;
  /** The valid ModelProvider objects (for candidateSelector). */
  objects: ModelProvider[];
  grants: GrantView[];
}

/**
 * Resolves the route's candidate and baseline references: in the route's namespace by default, in another one
 * only when a ModelReferenceGrant there allows it (else RefNotPermitted).
 */
export function resolveCandidates(route: ModelRoute, lookup: ProviderLookup): ResolvedCandidates {
  const namespace = route.metadata.namespace ?? "default";
  const problems: Problem[] = [];
  const ids = new Map<string, string>();
  const resolve = (ref: { name: string; namespace?: string }, field: string): string | null => {
    const result = resolveRef(route, namespace, ref, field, lookup);
    if (typeof result !== "string") {
      problems.push(result);
      return null;
    }
    ids.set(ref.name, result);
    ids.set(result, result);
    return result;
  };

  const refs = candidateRefs(
    route,
    lookup.objects.filter((p) => (p.metadata.namespace ?? "default") === namespace),
  );
  const candidates: CandidateConfig[] = [];
  refs.forEach((ref, i) => {
    const id = resolve(ref, route.spec.candidates ? `spec.candidates[${i}].name` : "spec.candidateSelector");
    if (id) candidates.push({ provider: id, weight: ref.weight });
  });
  if (refs.length === 0) {
    problems.push(
      refProblem(
        route,
        "spec.candidateSelector",
        REASONS.ResolvedRefs.noCandidates,
        "the selector matches no ModelProvider",
      ),
    );
  }
  const baseline = resolve(route.spec.baseline, "spec.baseline.name");
  const judgeRef = route.spec.evaluation?.judge;
  const judge = judgeRef ? resolve(judgeRef, "spec.evaluation.judge.name") : null;
  const cascadeRef = route.spec.cascade?.judge;
  const cascadeJudge = cascadeRef ? resolve(cascadeRef, "spec.cascade.judge.name") : null;
  candidates.sort(
    (a, b) =>
      compareStrength(lookup.compiled.get(a.provider), lookup.compiled.get(b.provider)) ||
      (a.provider < b.provider ? -1 : 1),
  );
  return { candidates, baseline, judge, cascadeJudge, ids, problems };
}

/** One provider reference: its id, or the problem that keeps it from resolving. */
function resolveRef(
  route: ModelRoute,
  namespace: string,
  ref: { name: string; namespace?: string },
  field: string,
  lookup: ProviderLookup,
): string | Problem {
  const target = ref.namespace ?? namespace;
  const id = `${target}/${ref.name}`;
  if (!referencePermitted(lookup.grants, namespace, target, ref.name)) {
    const why = `no ModelReferenceGrant in namespace ${target} lets ModelRoutes from ${namespace} use ModelProvider ${ref.name}`;
    return refProblem(route, field, REASONS.ResolvedRefs.refNotPermitted, why);
  }
  if (!lookup.existing.some((p) => p.namespace === target && p.name === ref.name))
    return refProblem(route, field, REASONS.ResolvedRefs.providerNotFound, `ModelProvider ${id} not found`);
  if (!lookup.compiled.has(id)) {
    const why = `ModelProvider ${id} is not ready (see its conditions)`;
    return refProblem(route, field, REASONS.ResolvedRefs.providerNotReady, why);
  }
  return id;
}

function candidateRefs(
  route: ModelRoute,
  inNamespace: ModelProvider[],
): { name: string; namespace?: string; weight: number }[] {
  if (route.spec.candidates)
    return route.spec.candidates.map((c) => ({
      name: c.name,
      ...(c.namespace === undefined ? {} : { namespace: c.namespace }),
      weight: c.weight ?? D["spec.candidates[].weight"],
    }));
  const labels = route.spec.candidateSelector?.matchLabels ?? {};
  return inNamespace
    .filter((p) => Object.entries(labels).every(([k, v]) => p.metadata.labels?.[k] === v))
    .map((p) => ({ name: p.metadata.name, weight: 1 }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Stronger first; among equals, cheaper first. */
function compareStrength(a: ProviderConfig | undefined, b: ProviderConfig | undefined): number {
  if (!a || !b) return 0;
  if (a.quality.score !== b.quality.score) return b.quality.score - a.quality.score;
  return (
    a.pricing.inputPerMillion + a.pricing.outputPerMillion - (b.pricing.inputPerMillion + b.pricing.outputPerMillion)
  );
}

/** Builds the route's config, or null (with problems) when it cannot be programmed. */
export function compileRoute(
  route: ModelRoute,
  resolved: ResolvedCandidates,
  providers: Map<string, ProviderConfig>,
  problems: Problem[],
): RouteConfig | null {
  const ruleProblems = [...checkRules(route), ...checkDurations(route), ...checkStages(route)];
  problems.push(...ruleProblems);
  if (ruleProblems.length > 0 || resolved.baseline === null) return null;
  if (resolved.candidates.length === 0) {
    if (route.spec.candidates) {
      problems.push(
        refProblem(route, "spec.candidates", REASONS.ResolvedRefs.noCandidates, "no candidate ModelProvider is ready"),
      );
    }
    return null;
  }
  const toIds = (names: string[] | undefined): string[] =>
    (names ?? []).flatMap((n) => {
      const id = resolved.ids.get(n);
      return id && providers.has(id) ? [id] : [];
    });
  const { objective: objectiveConfig, ...rest } = policy(route.spec);
  return {
    name: route.spec.modelName,
    source: {
      namespace: route.metadata.namespace ?? "default",
      name: route.metadata.name,
      ...(route.metadata.generation === undefined ? {} : { generation: route.metadata.generation }),
    },
    candidates: resolved.candidates,
    baseline: resolved.baseline,
    objective: objectiveConfig,
    rules: (route.spec.rules ?? []).map((r): RuleConfig => compileRule(r, toIds)),
    ...rest,
    ...evaluation(route.spec, resolved.judge),
    ...cascade(route.spec, resolved, providers),
    ...learning(route.spec),
    ...budget(route.spec),
  };
}

/** spec.budget with its defaults (issue 17); absent when the route has none (configs without budgets stay v1). */
function budget(s: Spec): Pick<RouteConfig, "budget"> {
  const b = compileBudget(s.budget);
  return b ? { budget: b } : {};
}

/** spec.learning with its defaults (ADR 12); the learned table itself comes from the control plane's reads. */
function learning(s: Spec): Pick<RouteConfig, "learning"> {
  if (!s.learning) return {};
  return {
    learning: {
      tags: [...(s.learning.tags ?? [])].sort(),
      exploration: s.learning.exploration ?? D["spec.learning.exploration"],
      window: s.learning.window ?? D["spec.learning.window"],
      priorSamples: s.learning.priorSamples ?? D["spec.learning.priorSamples"],
    },
  };
}

/**
 * strategy cascade (ADR 11): the stages as provider ids (default: the candidates cheaper than the baseline,
 * cheapest first, at most two), the verifiers and thresholds with their defaults. The judge verifier is dropped
 * while its judge does not resolve (a ResolvedRefs problem says so).
 */
function cascade(
  s: Spec,
  resolved: ResolvedCandidates,
  providers: Map<string, ProviderConfig>,
): Pick<RouteConfig, "strategy" | "cascade"> {
  if ((s.strategy ?? D["spec.strategy"]) !== "cascade") return {};
  const c = s.cascade ?? {};
  const price = (id: string): number => {
    const p = providers.get(id)?.pricing;
    return p ? p.inputPerMillion + p.outputPerMillion : Number.POSITIVE_INFINITY;
  };
  const baselinePrice = resolved.baseline === null ? Number.POSITIVE_INFINITY : price(resolved.baseline);
  const stages = c.stages
    ? c.stages.flatMap((n) => resolved.ids.get(n) ?? [])
    : resolved.candidates
        .map((x) => x.provider)
        .filter((id) => price(id) < baselinePrice)
        .sort((a, b) => price(a) - price(b) || (a < b ? -1 : 1))
        .slice(0, 2);
  const verifiers = [...(c.verifiers ?? D["spec.cascade.verifiers"])].filter(
    (v) => v !== "judge" || resolved.cascadeJudge !== null,
  );
  return {
    strategy: "cascade",
    cascade: {
      stages,
      verifiers,
      judge: resolved.cascadeJudge,
      judgeThreshold: c.judgeThreshold ?? D["spec.cascade.judgeThreshold"],
      logprobsThreshold: c.logprobsThreshold ?? D["spec.cascade.logprobsThreshold"],
    },
  };
}

/**
 * The route's judge sampling, when it has `spec.evaluation` and its judge resolved. A judge that does not
 * resolve is a ResolvedRefs problem (like a candidate's): the route is served without evaluation meanwhile.
 */
function evaluation(s: Spec, judge: string | null): Pick<RouteConfig, "evaluation"> {
  if (!s.evaluation || judge === null) return {};
  return {
    evaluation: {
      judge,
      sampleRate: s.evaluation.sampleRate ?? D["spec.evaluation.sampleRate"],
      maxCostPerHourUSD: s.evaluation.maxCostPerHourUSD ?? D["spec.evaluation.maxCostPerHourUSD"],
    },
  };
}

/**
 * A route as the operator programs it under auto shadow (ADR 10): the policy still decides and is measured, the
 * baseline answers. The spec is not changed; status.rollout says why.
 */
export function asShadow(route: RouteConfig): RouteConfig {
  const { canaryPercent: _percent, ...rest } = route;
  return { ...rest, rollout: "shadow" };
}

type Spec = ModelRoute["spec"];

/** The route's knobs with their documented defaults applied. */
function policy(s: Spec): Omit<RouteConfig, "name" | "source" | "candidates" | "baseline" | "rules" | "evaluation"> {
  return {
    objective: objective(s),
    retry: retry(s),
    fallback: fallback(s),
    timeouts: timeouts(s),
    circuitBreaker: circuitBreaker(s),
    midStreamFailure: s.fallback?.midStream ?? D["spec.fallback.midStream"],
    classifier: classifier(s),
    ...rollout(s),
    exposeProviderModels: s.exposeProviderModels ?? D["spec.exposeProviderModels"],
  };
}

function rollout(s: Spec): Pick<RouteConfig, "rollout" | "canaryPercent"> {
  const mode = s.rollout?.mode ?? D["spec.rollout.mode"];
  if (mode !== "canary") return { rollout: mode };
  return { rollout: mode, canaryPercent: s.rollout?.percent ?? D["spec.rollout.percent"] };
}

function fallback(s: Spec): RouteConfig["fallback"] {
  return {
    enabled: s.fallback?.enabled ?? D["spec.fallback.enabled"],
    maxProviders: s.fallback?.maxProviders ?? D["spec.fallback.maxProviders"],
  };
}

function timeouts(s: Spec): RouteConfig["timeouts"] {
  const attemptMs = durationOr(s.timeouts?.attempt, D["spec.timeouts.attempt"]);
  return {
    requestMs: durationOr(s.timeouts?.request, D["spec.timeouts.request"]),
    attemptMs,
    // The CRD documents firstToken's default as the attempt timeout.
    firstTokenMs: s.timeouts?.firstToken === undefined ? attemptMs : durationOr(s.timeouts.firstToken, "0s"),
    streamIdleMs: durationOr(s.timeouts?.streamIdle, D["spec.timeouts.streamIdle"]),
  };
}

function circuitBreaker(s: Spec): RouteConfig["circuitBreaker"] {
  return {
    consecutiveFailures: s.circuitBreaker?.consecutiveFailures ?? D["spec.circuitBreaker.consecutiveFailures"],
    cooldownMs: durationOr(s.circuitBreaker?.cooldown, D["spec.circuitBreaker.cooldown"]),
    windowMs: durationOr(s.circuitBreaker?.window, D["spec.circuitBreaker.window"]),
  };
}

function objective(s: Spec): RouteConfig["objective"] {
  return {
    minQualityRetention: s.objective?.minQualityRetention ?? D["spec.objective.minQualityRetention"],
    maxCostPerRequestUSD: s.objective?.maxCostPerRequestUSD ?? null,
    minConfidence: s.objective?.minConfidence ?? D["spec.objective.minConfidence"],
  };
}

function retry(s: Spec): RouteConfig["retry"] {
  return {
    attempts: s.retry?.attempts ?? D["spec.retry.attempts"],
    backoffBaseMs: durationOr(s.retry?.backoff?.base, D["spec.retry.backoff.base"]),
    backoffMaxMs: durationOr(s.retry?.backoff?.max, D["spec.retry.backoff.max"]),
    retryOn: [...(s.retry?.retryOn ?? D["spec.retry.retryOn"])].sort((a, b) => a - b),
  };
}

function classifier(s: Spec): RouteConfig["classifier"] {
  const type = s.classifier?.type ?? D["spec.classifier.type"];
  const custom = type === "custom" ? s.classifier?.custom : undefined;
  return custom ? { type: "custom", modelPath: custom.modelPath } : { type: "builtin" };
}

type Rule = NonNullable<ModelRoute["spec"]["rules"]>[number];

function compileRule(r: Rule, toIds: (names: string[] | undefined) => string[]): RuleConfig {
  return { name: r.name, match: compileMatch(r.match), pin: toIds(r.pin), exclude: toIds(r.exclude) };
}

function compileMatch(m: Rule["match"]): RuleConfig["match"] {
  return {
    tasks: m.tasks ?? [],
    domains: m.domains ?? [],
    difficulty: range(m.difficulty),
    promptTokens: range(m.promptTokens),
    headers: (m.headers ?? []).map((h) => ({
      name: h.name.toLowerCase(),
      type: h.type ?? D["spec.rules[].match.headers[].type"],
      value: h.value,
    })),
    metadata: m.metadata ?? {},
  };
}

function range(r: { min?: number; max?: number } | undefined): { min: number | null; max: number | null } {
  return { min: r?.min ?? null, max: r?.max ?? null };
}

/** Semantic checks the schema cannot express: rules may only name candidates; regexes must compile. */
function checkRules(route: ModelRoute): Problem[] {
  // Rules may name any candidate, and the baseline (e.g. to pin a class of requests to it).
  const declared = new Set([...(route.spec.candidates?.map((c) => c.name) ?? []), route.spec.baseline.name]);
  const bySelector = !route.spec.candidates;
  const problems: Problem[] = [];
  (route.spec.rules ?? []).forEach((rule, i) => {
    for (const [list, names] of [
      ["pin", rule.pin],
      ["exclude", rule.exclude],
    ] as const) {
      (names ?? []).forEach((n, j) => {
        if (!bySelector && !declared.has(n)) {
          problems.push(
            invalid(
              route,
              `spec.rules[${i}].${list}[${j}]`,
              `${JSON.stringify(n)} is neither a candidate nor the baseline`,
            ),
          );
        }
      });
    }
    (rule.match.headers ?? []).forEach((h, j) => {
      if (h.type !== "RegularExpression") return;
      try {
        new RegExp(h.value);
      } catch {
        problems.push(
          invalid(
            route,
            `spec.rules[${i}].match.headers[${j}].value`,
            `invalid regular expression ${JSON.stringify(h.value)}`,
          ),
        );
      }
    });
  });
  return problems;
}

/** Cascade stages must be candidates (by name): a stage is a cheaper way to answer the same route. */
function checkStages(route: ModelRoute): Problem[] {
  const stages = route.spec.cascade?.stages ?? [];
  if (!route.spec.candidates) return [];
  const declared = new Set(route.spec.candidates.map((c) => c.name));
  return stages.flatMap((n, i) =>
    declared.has(n) ? [] : [invalid(route, `spec.cascade.stages[${i}]`, `${JSON.stringify(n)} is not a candidate`)],
  );
}

/** Durations over the cap (an object stored before the CRD capped them): the route is not programmed. */
function checkDurations(route: ModelRoute): Problem[] {
  return overlongDurations(route, DURATION_FIELDS.ModelRoute).map((field) =>
    invalid(route, field, `must be at most ${MAX_DURATION}`),
  );
}

function invalid(route: ModelRoute, field: string, message: string): Problem {
  return {
    object: { kind: "ModelRoute", namespace: route.metadata.namespace ?? "default", name: route.metadata.name },
    field,
    condition: "Accepted",
    reason: REASONS.Accepted.invalid,
    message,
  };
}

function refProblem(route: ModelRoute, field: string, reason: Problem["reason"], message: string): Problem {
  return {
    object: { kind: "ModelRoute", namespace: route.metadata.namespace ?? "default", name: route.metadata.name },
    field,
    condition: "ResolvedRefs",
    reason,
    message,
  };
}
