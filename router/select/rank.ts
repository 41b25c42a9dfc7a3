/**
 * Rank: the capability filter (context window, tools, vision, JSON mode, streaming are hard), then the first
 * matching rule, then the objective — the cheapest candidate whose predicted quality keeps the route's retention
 * bar (and cost cap) first, the rest strongest first.
 */
import type { LearnedEntry, ProviderConfig, RouteConfig, RuleConfig } from "../config/types.js";
import type { Classification } from "../classify/types.js";
import { effectiveThreshold, learnedEntries } from "./learned.js";
import { clamp01, declaredScore, predictQuality } from "./quality.js";
import { parameterGap } from "./params.js";
import { failure, type RequestFeatures, type SelectInput, type SelectionFailure } from "./types.js";

export const ASSUMED_OUTPUT_TOKENS = 256;
/** A budget past its degradeAt (select/budget.ts) ranks against the route's retention bar minus this. */
export const RELAXED_RETENTION_MARGIN = 0.05;
/** When the classifier is unsure, the request is judged as if this much harder. */
export const UNCERTAINTY_PENALTY = 0.25;

export interface Ranking {
  ranked: ProviderConfig[];
  /** Bounded reason for metrics: "rule:<name>", "classifier", "strongest". */
  reason: string;
  explanation: string;
  /** Predicted quality (0–100) of a provider on this request. */
  quality: (p: ProviderConfig) => number;
  baselineQuality: number;
  /** A rule pinned the providers: the user said where the request goes (no exploration). */
  pinned: boolean;
  /** The learned entry that decided a provider's eligibility in the request's segment, if any. */
  learned: (p: ProviderConfig) => LearnedEntry | undefined;
}

export function rank(input: SelectInput, baseline: ProviderConfig): Ranking | SelectionFailure {
  const { route, providers, classification, request } = input;
  const all = route.candidates.flatMap((c) => providers.get(c.provider) ?? []);
  const capable = all.filter((p) => supports(p, request));
  if (capable.length === 0) return explainIncapable(all, request);

  const rule = matchedRule(route, classification, request);
  const difficulty = effectiveDifficulty(classification, route.objective.minConfidence);
  const baselineQuality = predictQuality(declaredScore(baseline, classification.domain), difficulty);
  const quality = (p: ProviderConfig): number => predictQuality(declaredScore(p, classification.domain), difficulty);
  const pool = rule ? capable.filter((p) => !rule.exclude.includes(p.id)) : capable;
  if (input.budget === "cheapest") return cheapestOnly(input, pool, { quality, baselineQuality });
  if (rule && rule.pin.length > 0) return pinnedByRule(rule, capable, { quality, baselineQuality });
  const entries = learnedEntries(route.learned, input.segment);
  const learned = (p: ProviderConfig): LearnedEntry | undefined => (p.id === baseline.id ? undefined : entries(p.id));
  const relax = input.budget === "relaxed" ? RELAXED_RETENTION_MARGIN : 0;
  const keeps = keepsObjective(route, { quality, baselineQuality, learned, relax });
  const objective = rankByObjective(pool, route, request, quality, keeps);
  if (objective.ranked.length === 0) return noCandidate(rule);
  const reason = objectiveReason(rule, objective.met, relax);
  return { ranked: objective.ranked, ...reason, quality, baselineQuality, pinned: false, learned };
}

/** A rule that pins providers: those of them that can serve, in its order. */
function pinnedByRule(
  rule: RuleConfig,
  capable: ProviderConfig[],
  q: Pick<Ranking, "quality" | "baselineQuality">,
): Ranking | SelectionFailure {
  const ranked = rule.pin.flatMap((id) => capable.filter((p) => p.id === id && !rule.exclude.includes(id)));
  if (ranked.length === 0) return noCandidate(rule);
  const explanation = `rule=${rule.name}`;
  return { ranked, reason: `rule:${rule.name}`, explanation, ...q, pinned: true, learned: () => undefined };
}

/** A spent `degrade` budget: every capable candidate (a matched rule's exclusions aside), cheapest first. */
function cheapestOnly(
  input: SelectInput,
  pool: ProviderConfig[],
  q: Pick<Ranking, "quality" | "baselineQuality">,
): Ranking | SelectionFailure {
  if (pool.length === 0) return noCandidate(undefined);
  const cost = (p: ProviderConfig): number => estimateCost(p, input.request);
  const ranked = [...pool].sort((a, b) => cost(a) - cost(b) || q.quality(b) - q.quality(a));
  const explanation = "budget=exhausted; cheapest";
  return { ranked, reason: "budget_exhausted", explanation, ...q, pinned: true, learned: () => undefined };
}

/** The first rule whose match the request meets, or undefined. */
export function matchedRule(
  route: Pick<RouteConfig, "rules">,
  c: Classification,
  r: RequestFeatures,
): RuleConfig | undefined {
  return route.rules.find((rule) => ruleMatches(rule, c, r));
}

/**
 * Whether a provider keeps the route's objective on this request: its learned retention lower bound in the
 * request's segment when the table has one (ADR 12), else its declared prediction against the effective
 * threshold (the SLO controller's, or the objective); both lowered by `relax` past a budget's degradeAt.
 */
function keepsObjective(
  route: RouteConfig,
  o: {
    quality: (p: ProviderConfig) => number;
    baselineQuality: number;
    learned: (p: ProviderConfig) => LearnedEntry | undefined;
    /** Subtracted from the retention bar (a budget past degradeAt). */
    relax: number;
  },
): (p: ProviderConfig) => boolean {
  const { quality, learned } = o;
  const bar = (effectiveThreshold(route) - o.relax) * o.baselineQuality;
  const objective = route.objective.minQualityRetention - o.relax;
  return (p) => {
    const entry = learned(p);
    return entry ? entry.lower >= objective - 1e-9 : quality(p) >= bar - 1e-9;
  };
}

function objectiveReason(
  rule: RuleConfig | undefined,
  met: boolean,
  relax: number,
): { reason: string; explanation: string } {
  const how = `${relax > 0 ? `budget=relaxed(-${relax}); ` : ""}${met ? "cheapest-meeting-objective" : "strongest-available"}`;
  if (rule) return { reason: `rule:${rule.name}`, explanation: `rule=${rule.name}; ${how}` };
  return { reason: met ? "classifier" : "strongest", explanation: how };
}

function noCandidate(rule: RuleConfig | undefined): SelectionFailure {
  return failure(400, "no_candidate", null, `rule ${rule?.name ?? ""} leaves no provider that supports this request`);
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
  keeps: (p: ProviderConfig) => boolean,
): Ranked {
  const cap = route.objective.maxCostPerRequestUSD;
  const cost = (p: ProviderConfig): number => estimateCost(p, request);
  const eligible = pool.filter((p) => keeps(p) && (cap === null || cost(p) <= cap));
  const rest = pool.filter((p) => !eligible.includes(p));
  eligible.sort((a, b) => cost(a) - cost(b) || quality(b) - quality(a));
  rest.sort((a, b) => quality(b) - quality(a) || cost(a) - cost(b));
  return { ranked: [...eligible, ...rest], met: eligible.length > 0 };
}

export function estimateCost(
  p: ProviderConfig,
  request: Pick<RequestFeatures, "promptTokens" | "maxOutputTokens">,
): number {
  const out = request.maxOutputTokens ?? ASSUMED_OUTPUT_TOKENS;
  return (request.promptTokens * p.pricing.inputPerMillion + out * p.pricing.outputPerMillion) / 1e6;
}

export function supports(p: ProviderConfig, r: RequestFeatures): boolean {
  if (!hasCapabilities(p, r) || parameterGap(p, r) !== null) return false;
  return r.promptTokens + Math.min(r.maxOutputTokens ?? 0, p.maxOutputTokens) <= p.contextWindow;
}

function hasCapabilities(p: ProviderConfig, r: RequestFeatures): boolean {
  if (r.needsTools && !p.capabilities.tools) return false;
  if (r.needsVision && !p.capabilities.vision) return false;
  if (r.needsJson && !p.capabilities.jsonMode) return false;
  return !r.stream || p.capabilities.streaming;
}

/**
 * The refusal of a request longer than every candidate's context window, or null. Cheap, so the request path runs
 * it before classifying (issue 15 #8: a huge prompt was classified before being refused).
 */
export function tooLongForAll(
  all: ProviderConfig[],
  r: Pick<RequestFeatures, "promptTokens" | "maxOutputTokens">,
): SelectionFailure | null {
  const largest = Math.max(0, ...all.map((p) => p.contextWindow));
  if (r.promptTokens + (r.maxOutputTokens ?? 0) <= largest) return null;
  return failure(
    400,
    "context_length_exceeded",
    "messages",
    `the request needs about ${r.promptTokens + (r.maxOutputTokens ?? 0)} tokens; the largest context window among the candidates is ${largest}`,
  );
}

function explainIncapable(all: ProviderConfig[], r: RequestFeatures): SelectionFailure {
  const tooLong = tooLongForAll(all, r);
  if (tooLong) return tooLong;
  // Capable but for a parameter it cannot honour (n, logprobs, strict json_schema): that parameter's refusal.
  const plain = { ...r, choices: 1, needsLogprobs: false, needsStrictSchema: false };
  const held = all.find((p) => supports(p, plain));
  const gap = held ? parameterGap(held, r) : null;
  if (gap) return gap;
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
  if (!m.headers.every((h) => headerMatches(h, r.header(h.name)))) return false;
  return Object.entries(m.metadata).every(([k, v]) => r.metadata[k] === v);
}

function headerMatches(h: RuleConfig["match"]["headers"][number], value: string | undefined): boolean {
  if (value === undefined) return false;
  return h.type === "Exact" ? value === h.value : regex(h.value).test(value);
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
