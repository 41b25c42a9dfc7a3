/**
 * Candidate selection: a pure function from (classification, request features, route, providers, health) to an
 * ordered list of providers to try and the reason. Rules first (in order), then the objective: the cheapest
 * candidate whose predicted quality keeps the route's retention bar (and cost cap), else the strongest.
 * Capability filters (context window, tools, vision, JSON mode, streaming) are hard.
 */
import type { ProviderConfig, RouteConfig, RuleConfig } from "../config/types.js";
import type { Classification } from "../classify/types.js";
import { clamp01, declaredScore, predictQuality } from "./quality.js";

export interface RequestFeatures {
  /** Estimated prompt tokens. */
  promptTokens: number;
  /** The request's max_tokens / max_completion_tokens, if set. */
  maxOutputTokens: number | null;
  needsTools: boolean;
  needsVision: boolean;
  needsJson: boolean;
  stream: boolean;
  /** Lower-cased header names. */
  header(name: string): string | undefined;
  metadata: Record<string, unknown>;
}

export interface HealthView {
  /** Circuit open: the provider is skipped unless nothing else is left. */
  isOpen(providerId: string): boolean;
  /** At its concurrency / rate limits: skipped. */
  isSaturated(providerId: string): boolean;
  inflight(providerId: string): number;
}

export interface Selection {
  ok: true;
  /** Providers to try, in order (first = primary, the rest fallbacks). */
  order: ProviderConfig[];
  /** The provider the policy chose (differs from order[0] in shadow mode). */
  decided: ProviderConfig;
  /** Bounded reason for metrics: "rule:<name>", "classifier", "strongest", "shadow". */
  reason: string;
  /** Short human explanation for x-routewise-decision. */
  explanation: string;
  /** Predicted quality (0–100) of the provider the request is sent to first, and of the baseline. */
  predictedQuality: number;
  /** Predicted quality (0–100) of any provider on this request (for fallbacks). */
  predict: (p: ProviderConfig) => number;
  baselineQuality: number;
  baseline: ProviderConfig;
}

export interface SelectionFailure {
  ok: false;
  status: 400 | 429;
  code: string;
  param: string | null;
  message: string;
}

/** Tokens assumed for the answer when the request sets no max_tokens (for cost caps). */
export const ASSUMED_OUTPUT_TOKENS = 256;
/** When the classifier is unsure, the request is judged as if this much harder. */
export const UNCERTAINTY_PENALTY = 0.25;

export interface SelectInput {
  route: RouteConfig;
  providers: ReadonlyMap<string, ProviderConfig>;
  classification: Classification;
  request: RequestFeatures;
  health: HealthView;
  /** In [0,1): used for weighted load balancing among equivalent providers. */
  random: () => number;
}

export function select(input: SelectInput): Selection | SelectionFailure {
  const { route, providers, classification, request } = input;
  const baseline = providers.get(route.baseline);
  if (!baseline) return failure(400, "route_misconfigured", null, `route ${route.name} has no baseline provider`);
  const all = route.candidates.flatMap((c) => providers.get(c.provider) ?? []);
  const capable = all.filter((p) => supports(p, request));
  if (capable.length === 0) return explainIncapable(all, request);

  const rule = route.rules.find((r) => ruleMatches(r, classification, request));
  const difficulty = effectiveDifficulty(classification, route.objective.minConfidence);
  const baselineQuality = predictQuality(declaredScore(baseline, classification.domain), difficulty);
  const quality = (p: ProviderConfig): number => predictQuality(declaredScore(p, classification.domain), difficulty);

  let ranked: ProviderConfig[];
  let reason: string;
  let explanation: string;
  if (rule && rule.pin.length > 0) {
    ranked = rule.pin.flatMap((id) => capable.filter((p) => p.id === id && !rule.exclude.includes(id)));
    reason = `rule:${rule.name}`;
    explanation = `rule=${rule.name}`;
  } else {
    const pool = rule ? capable.filter((p) => !rule.exclude.includes(p.id)) : capable;
    const objective = rankByObjective(pool, route, request, quality, baselineQuality);
    ranked = objective.ranked;
    reason = rule ? `rule:${rule.name}` : objective.met ? "classifier" : "strongest";
    explanation = `${rule ? `rule=${rule.name}; ` : ""}${objective.met ? "cheapest-meeting-objective" : "strongest-available"}`;
  }
  if (ranked.length === 0)
    return failure(400, "no_candidate", null, `rule ${rule?.name ?? ""} leaves no provider that supports this request`);

  const healthy = orderByHealth(balance(ranked, input), input.health);
  if (healthy.length === 0)
    return failure(429, "rate_limited", null, `every candidate of ${route.name} is at its rate or concurrency limit`);
  const decided = healthy[0] as ProviderConfig;
  const details = `task=${classification.task}; domain=${classification.domain}; difficulty=${classification.difficulty.toFixed(2)}; retention=${(quality(decided) / baselineQuality).toFixed(3)}`;
  const shadow = route.rollout === "shadow";
  return {
    ok: true,
    order: shadow ? [baseline, ...healthy.filter((p) => p.id !== baseline.id)] : healthy,
    decided,
    reason: shadow ? "shadow" : reason,
    explanation: `${shadow ? `shadow(would=${decided.id}); ` : ""}${explanation}; ${details}`,
    predictedQuality: quality(shadow ? baseline : decided),
    predict: quality,
    baselineQuality,
    baseline,
  };
}

/** Unsure classifications are treated as harder, so the router leans to stronger models. */
export function effectiveDifficulty(c: Classification, minConfidence: number): number {
  return c.confidence < minConfidence ? clamp01(c.difficulty + UNCERTAINTY_PENALTY) : c.difficulty;
}

interface Ranked {
  ranked: ProviderConfig[];
  met: boolean;
}

/** Eligible candidates cheapest first, then the rest strongest first (as fallbacks). */
function rankByObjective(
  pool: ProviderConfig[],
  route: RouteConfig,
  request: RequestFeatures,
  quality: (p: ProviderConfig) => number,
  baselineQuality: number,
): Ranked {
  const bar = route.objective.minQualityRetention * baselineQuality;
  const cap = route.objective.maxCostPerRequestUSD;
  const cost = (p: ProviderConfig): number => estimateCost(p, request);
  const eligible = pool.filter((p) => quality(p) >= bar - 1e-9 && (cap === null || cost(p) <= cap));
  const rest = pool.filter((p) => !eligible.includes(p));
  eligible.sort((a, b) => cost(a) - cost(b) || quality(b) - quality(a));
  rest.sort((a, b) => quality(b) - quality(a) || cost(a) - cost(b));
  return { ranked: [...eligible, ...rest], met: eligible.length > 0 };
}

export function estimateCost(p: ProviderConfig, request: RequestFeatures): number {
  const out = request.maxOutputTokens ?? ASSUMED_OUTPUT_TOKENS;
  return (request.promptTokens * p.pricing.inputPerMillion + out * p.pricing.outputPerMillion) / 1e6;
}

export function supports(p: ProviderConfig, r: RequestFeatures): boolean {
  if (r.needsTools && !p.capabilities.tools) return false;
  if (r.needsVision && !p.capabilities.vision) return false;
  if (r.needsJson && !p.capabilities.jsonMode) return false;
  if (r.stream && !p.capabilities.streaming) return false;
  return r.promptTokens + Math.min(r.maxOutputTokens ?? 0, p.maxOutputTokens) <= p.contextWindow;
}

function explainIncapable(all: ProviderConfig[], r: RequestFeatures): SelectionFailure {
  const largest = Math.max(0, ...all.map((p) => p.contextWindow));
  if (r.promptTokens + (r.maxOutputTokens ?? 0) > largest) {
    return failure(
      400,
      "context_length_exceeded",
      "messages",
      `the request needs about ${r.promptTokens + (r.maxOutputTokens ?? 0)} tokens; the largest context window among the candidates is ${largest}`,
    );
  }
  const needs = [
    r.needsTools && "tools",
    r.needsVision && "image input",
    r.needsJson && "JSON mode",
    r.stream && "streaming",
  ].filter(Boolean);
  return failure(
    400,
    "unsupported_capability",
    null,
    `no candidate supports everything this request needs (${needs.join(", ")})`,
  );
}

export function ruleMatches(rule: RuleConfig, c: Classification, r: RequestFeatures): boolean {
  const m = rule.match;
  if (m.tasks.length > 0 && !m.tasks.includes(c.task)) return false;
  if (m.domains.length > 0 && !m.domains.includes(c.domain)) return false;
  if (!inRange(c.difficulty, m.difficulty.min, m.difficulty.max)) return false;
  if (!inRange(r.promptTokens, m.promptTokens.min, m.promptTokens.max)) return false;
  for (const h of m.headers) {
    const value = r.header(h.name);
    if (value === undefined) return false;
    if (h.type === "Exact" ? value !== h.value : !regex(h.value).test(value)) return false;
  }
  return Object.entries(m.metadata).every(([k, v]) => r.metadata[k] === v);
}

const regexCache = new Map<string, RegExp>();

/** Header patterns are compiled once (the compiler has already checked that they compile). */
function regex(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (!re) {
    if (regexCache.size > 1000) regexCache.clear();
    re = new RegExp(pattern);
    regexCache.set(pattern, re);
  }
  return re;
}

function inRange(x: number, min: number | null, max: number | null): boolean {
  return (min === null || x >= min) && (max === null || x <= max);
}

/**
 * Providers serving the same upstream model at the same price and quality are interchangeable: order them by
 * least in-flight requests, breaking ties by weighted random choice.
 */
function balance(ranked: ProviderConfig[], input: SelectInput): ProviderConfig[] {
  const weight = new Map(input.route.candidates.map((c) => [c.provider, c.weight]));
  const out: ProviderConfig[] = [];
  let i = 0;
  while (i < ranked.length) {
    const head = ranked[i] as ProviderConfig;
    let j = i + 1;
    while (j < ranked.length && equivalent(head, ranked[j] as ProviderConfig)) j++;
    out.push(...(j - i > 1 ? orderGroup(ranked.slice(i, j), weight, input) : [head]));
    i = j;
  }
  return out;
}

function equivalent(a: ProviderConfig, b: ProviderConfig): boolean {
  return (
    a.model === b.model &&
    a.quality.score === b.quality.score &&
    a.pricing.inputPerMillion === b.pricing.inputPerMillion &&
    a.pricing.outputPerMillion === b.pricing.outputPerMillion
  );
}

function orderGroup(group: ProviderConfig[], weight: Map<string, number>, input: SelectInput): ProviderConfig[] {
  const keyed = group.map((p) => {
    const w = weight.get(p.id) ?? 1;
    // Efraimidis–Spirakis weighted random key; weight 0 sorts last.
    const key = w > 0 ? Math.pow(input.random(), 1 / w) : -1;
    return { p, inflight: input.health.inflight(p.id), key };
  });
  keyed.sort((a, b) => a.inflight - b.inflight || b.key - a.key);
  return keyed.map((k) => k.p);
}

/** Saturated providers are dropped; open circuits go last (tried only when nothing else is left). */
function orderByHealth(ranked: ProviderConfig[], health: HealthView): ProviderConfig[] {
  const available = ranked.filter((p) => !health.isSaturated(p.id));
  return [...available.filter((p) => !health.isOpen(p.id)), ...available.filter((p) => health.isOpen(p.id))];
}

function failure(status: 400 | 429, code: string, param: string | null, message: string): SelectionFailure {
  return { ok: false, status, code, param, message };
}
