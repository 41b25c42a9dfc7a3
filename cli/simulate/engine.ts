/**
 * The prequential replay: each row, in order, is classified by the route's classifier and decided by the real
 * select() (every provider healthy, randomness from the seed) before anything of its labels is used; the row's
 * scores then say how well the served model did. Only the judged share of rows (seeded, --judge-rate) hands its
 * labels, flipped with --judge-noise, to the learner, which may change the next rows' decisions.
 */
import type { Classifier } from "../../router/classify/types.js";
import type { ProviderConfig, RouteConfig } from "../../router/config/types.js";
import { rng } from "../../router/prng.js";
import type { CandidateOption } from "../../router/learn/controller.js";
import { learningInputs } from "../../router/learn/inputs.js";
import { labelContext, learnsFrom, type LabelContext } from "../../router/learn/label.js";
import { select } from "../../router/select/select.js";
import type { HealthView, RequestFeatures, Selection } from "../../router/select/types.js";
import { cascadeOnRow, type CascadeResult } from "./cascade.js";
import { answerTokens, judgeCallsCost, priced, promptTokensOf, rowCost } from "./cost.js";
import type { Choice, Learner, RowContext } from "./learner.js";
import type { ModelMap } from "./mapping.js";
import type { SimRow } from "./rows.js";
import type { Outcome } from "./types.js";

export type { Outcome } from "./types.js";

export interface SimOptions {
  route: RouteConfig;
  providers: ReadonlyMap<string, ProviderConfig>;
  classifier: Classifier;
  learner: Learner;
  models: ModelMap;
  seed: number;
  judgeRate: number;
  judgeNoise: number;
  /** USD of the judge calls per judged row; null = estimated from the judge provider's prices. */
  judgeCostUsd: number | null;
}

/** One replayed row. */
export interface RowOutcome {
  index: number;
  promptTokens: number;
  /** The provider whose answer the client got (a cascade's accepted stage, else the route's choice). */
  served: string;
  /** The route's choice before any cascade, and how it would have done alone (single strategy). */
  chosen: string;
  single: Outcome;
  /** Realized: the served answer's score and everything paid for it (escalated stages included). */
  realized: Outcome;
  baseline: Outcome;
  /** Every mapped provider's score and cost on this row (for the comparisons). */
  byProvider: Record<string, Outcome>;
  propensity: number;
  judged: boolean;
  judgeCost: number;
  cascade: CascadeResult | null;
  /**
   * Learning routes: the row's candidates as the SLO controller sees them (predicted retention, estimated cost),
   * for the operating points' hindsight; absent when the decision cannot be a label.
   */
  options?: CandidateOption[];
}

export interface SimTrace {
  rows: RowOutcome[];
  /** Rows left out because a mapped model has no score on them. */
  missingScore: number;
  /** Rows select() refused (no capable candidate, context too long), by error code. */
  refused: Record<string, number>;
}

export const HEALTHY: HealthView = { isOpen: () => false, isSaturated: () => false, inflight: () => 0 };

export function features(promptTokens: number): RequestFeatures {
  return {
    promptTokens,
    maxOutputTokens: null,
    needsTools: false,
    needsVision: false,
    needsJson: false,
    stream: false,
    header: () => undefined,
    metadata: {},
  };
}

interface Streams {
  select: () => number;
  rollout: () => number;
  explore: () => number;
  judge: () => number;
  noise: () => number;
}

/** Independent seeded streams, so judging more rows does not change which provider a row gets. */
function streams(seed: number): Streams {
  return {
    select: rng(seed),
    rollout: rng(seed + 1),
    explore: rng(seed + 2),
    judge: rng(seed + 3),
    noise: rng(seed + 4),
  };
}

export function outcomesOf(row: SimRow, opts: SimOptions): Record<string, Outcome> | null {
  const out: Record<string, Outcome> = {};
  for (const [id, model] of opts.models) {
    const score = row.scores[model];
    const provider = opts.providers.get(id);
    if (score === undefined || score === null || !provider) return null;
    out[id] = { score, cost: rowCost(row, model, provider) };
  }
  return out;
}

export async function simulate(rows: readonly SimRow[], opts: SimOptions): Promise<SimTrace> {
  const s = streams(opts.seed);
  const trace: SimTrace = { rows: [], missingScore: 0, refused: {} };
  for (const row of rows) {
    const byProvider = outcomesOf(row, opts);
    if (!byProvider) {
      trace.missingScore++;
      continue;
    }
    const decided = await decide(row, trace.rows.length, opts, s);
    if (!decided.selection.ok) {
      trace.refused[decided.selection.code] = (trace.refused[decided.selection.code] ?? 0) + 1;
      continue;
    }
    trace.rows.push(settle(row, { ...decided, selection: decided.selection, byProvider }, opts, s));
  }
  return trace;
}

async function decide(row: SimRow, index: number, opts: SimOptions, s: Streams) {
  const promptTokens = promptTokensOf(row.prompt);
  const input = { prompt: row.prompt, system: "", totalChars: row.prompt.length };
  const classification = await opts.classifier.classify(input);
  const context: RowContext = { index, classification, promptTokens, route: opts.route, providers: opts.providers };
  const route = opts.learner.prepare(context);
  const canary = route.rollout === "canary";
  const arm = s.rollout() < (route.canaryPercent ?? 100) / 100 ? "policy" : "baseline";
  const request = features(promptTokens);
  const selection = select({
    route,
    providers: opts.providers,
    classification,
    request,
    health: HEALTHY,
    random: s.select,
    ...(canary ? { rolloutArm: arm } : {}),
    // The same segment and exploration the router computes, with draws from the replay's seed.
    ...learningInputs(route, classification, request, () => ({ u: s.explore(), pick: s.explore() })),
  });
  return { context: { ...context, route }, selection };
}

interface Decided {
  context: RowContext;
  selection: Selection;
  byProvider: Record<string, Outcome>;
}

function settle(row: SimRow, d: Decided, opts: SimOptions, s: Streams): RowOutcome {
  const { context, selection, byProvider } = d;
  const choice = opts.learner.choose(context, selection, s.explore);
  const single = at(byProvider, choice.provider.id);
  const baseline = at(byProvider, context.route.baseline);
  const cascade = cascadeOnRow(row, {
    ...context,
    selection,
    chosen: choice.provider,
    models: opts.models,
    byProvider,
  });
  const realized = cascade ? { score: cascade.score, cost: cascade.cost } : single;
  const served = cascade?.accepted ?? choice.provider.id;
  const decision = labelOf(row, d, opts.providers.get(served) ?? choice.provider, opts);
  const judged = s.judge() < opts.judgeRate;
  const judgeCost = judged ? judgeSpend(context, served, baseline, opts) : 0;
  if (judged) teach(d, { served, realized, baseline, decision, fallback: choice }, opts, s);
  return {
    index: context.index,
    promptTokens: context.promptTokens,
    served,
    chosen: choice.provider.id,
    single,
    realized,
    baseline,
    byProvider,
    propensity: choice.propensity,
    judged,
    judgeCost,
    cascade,
    ...(decision ? { options: decision.options } : {}),
  };
}

interface Served {
  served: string;
  realized: Outcome;
  baseline: Outcome;
  decision: LabelContext | null;
  fallback: Choice;
}

/** A judged row's (noisy) labels to the learner, after the row was decided. */
function teach(d: Decided, v: Served, opts: SimOptions, s: Streams): void {
  const { context, selection, byProvider } = d;
  const flip = (x: number): number => (s.noise() < opts.judgeNoise ? 1 - x : x);
  // The judged side: the served answer, or the decided provider's on a shadow route (its label's routed side).
  const routed = v.decision?.provider ?? v.served;
  const routedOutcome = routed === v.served ? v.realized : at(byProvider, routed);
  const baselineScore = flip(v.baseline.score);
  const servedScore = routed === context.route.baseline ? baselineScore : flip(routedOutcome.score);
  opts.learner.learn({
    context,
    served: opts.providers.get(routed) ?? v.fallback.provider,
    baseline: selection.baseline,
    servedScore,
    baselineScore,
    propensity: v.decision?.propensity ?? v.fallback.propensity,
    decision: v.decision,
  });
}

/**
 * What the router's label of this row would carry from its decision (router/learn/label.ts), with the served
 * answer's tokens priced at each candidate's prices; null when the decision cannot be a label.
 */
function labelOf(row: SimRow, d: Decided, served: ProviderConfig, opts: SimOptions): LabelContext | null {
  const { context, selection } = d;
  if (!learnsFrom(context.route, selection)) return null;
  const [input, output] = answerTokens(row, opts.models.get(served.id), context.promptTokens);
  const cost = (p: ProviderConfig): number => priced(p, input, output);
  return labelContext(selection, served, cost, cost(selection.baseline));
}

function at(byProvider: Record<string, Outcome>, id: string): Outcome {
  const o = byProvider[id];
  if (!o) throw new Error(`simulate: provider ${id} has no outcome (not mapped)`);
  return o;
}

/** ADR 10: a served baseline answer needs no calls; otherwise the baseline is asked too and the judge twice. */
function judgeSpend(context: RowContext, served: string, baseline: Outcome, opts: SimOptions): number {
  if (served === context.route.baseline) return 0;
  const judgeId = context.route.evaluation?.judge ?? context.route.baseline;
  const judge = opts.providers.get(judgeId);
  if (!judge) throw new Error(`simulate: judge provider ${judgeId} is not in the config`);
  return baseline.cost + judgeCallsCost(context.promptTokens, judge, opts.judgeCostUsd);
}
