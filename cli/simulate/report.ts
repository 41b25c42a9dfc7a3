/**
 * The numbers of a replay. Retention is Σ served score / Σ baseline score over the rows (the ratio ADR 10 measures);
 * savings are 1 − cost / always-baseline cost. The comparisons reach the policy's realized retention with no
 * router at all: random (each row to the baseline with the probability that mixes the cheapest candidate and the
 * baseline to that retention, in expectation) and prompt length (the longest prompts to the baseline, the rest to
 * the cheapest, as few as reach it — a threshold chosen in hindsight, which flatters it).
 */
import { minAwaySupport, policyChoice } from "../../router/learn/controller.js";
import type { RowOutcome, SimTrace } from "./engine.js";
import type { ControllerTrace, PointSupport, ThresholdChange } from "./learner.js";

export interface Point {
  retention: number | null;
  costUsd: number;
  savings: number | null;
}

export interface WindowStat {
  start: number;
  rows: number;
  retention: number | null;
  savings: number | null;
}

/**
 * One operating point of the SLO controller's last run (what status.learned.points shows): the threshold that
 * clears `objective`, the controller's estimated retention, its lower bound and estimated savings on the window's
 * labels, and in hindsight what running that threshold would have delivered on every row the window spans (the
 * rows' own scores and costs; the policy as the controller models it: the cheapest candidate predicted to keep the
 * threshold).
 */
export interface OperatingPointReport {
  objective: number;
  met: boolean;
  threshold: number;
  retention: number | null;
  lowerBound: number | null;
  savings: number;
  /**
   * The window's labels π_t sends away from the baseline, and how many of those were judged on π_t's choice. A
   * point with `away > 0` and few matched rests on the baseline's labels alone: its bound says little about the
   * cheaper choice (the self-normalised estimate ignores the labels it has no match for).
   */
  support: PointSupport;
  hindsight: Point;
}

export interface ControllerReport {
  /** Rows between two runs of the learner and the controller. */
  learnEvery: number;
  /** `learning.window`: labels per run. */
  window: number;
  flipRate: number;
  runs: number;
  /** How often the threshold changed after its first run. */
  changes: number;
  /** At the end; null: the objective (fewer than 30 labels, or no threshold clears). */
  threshold: number | null;
  /** Labels in the last run's window, and the rows that window spans. */
  labels: number;
  windowRows: { start: number; rows: number } | null;
  /** The threshold at the first run, then at each change. */
  history: ThresholdChange[];
  /** At the objective, then 1 and 2 points below. */
  points: OperatingPointReport[];
}

export interface SimReport {
  route: string;
  learner: string;
  rows: number;
  skipped: { missingScore: number; refused: Record<string, number> };
  objective: number;
  realized: Point & { savingsNetOfJudge: number | null };
  baselineCostUsd: number;
  windows: { size: number; counted: number; underObjective: number; shareUnder: number | null; list: WindowStat[] };
  share: Record<string, number>;
  judge: { rate: number; noise: number; judged: number; spendUsd: number };
  cascade: { rows: number; accepted: number; escalatedAll: number } | null;
  compare: {
    single: Point;
    alwaysBaseline: Point;
    alwaysCheapest: Point & { provider: string };
    random: Point & { baselineShare: number };
    promptLength: Point & { baselineShare: number };
  };
  /** The SLO controller of a learning route; null for routes without `learning`. */
  controller: ControllerReport | null;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);

function point(rows: readonly RowOutcome[], pick: (r: RowOutcome) => { score: number; cost: number }): Point {
  const base = sum(rows.map((r) => r.baseline.score));
  const baseCost = sum(rows.map((r) => r.baseline.cost));
  const score = sum(rows.map((r) => pick(r).score));
  const cost = sum(rows.map((r) => pick(r).cost));
  const saved = ratio(cost, baseCost);
  return { retention: ratio(score, base), costUsd: cost, savings: saved === null ? null : 1 - saved };
}

function windows(rows: readonly RowOutcome[], size: number, objective: number): SimReport["windows"] {
  const list: WindowStat[] = [];
  for (let start = 0; start < rows.length; start += size) {
    const w = rows.slice(start, start + size);
    const p = point(w, (r) => r.realized);
    list.push({ start, rows: w.length, retention: p.retention, savings: p.savings });
  }
  // A trailing window shorter than half a window is listed but not counted: its retention is mostly noise.
  const counted = list.filter((w) => w.rows * 2 >= size && w.retention !== null);
  const under = counted.filter((w) => (w.retention ?? 1) < objective - 1e-12).length;
  return {
    size,
    counted: counted.length,
    underObjective: under,
    shareUnder: counted.length > 0 ? under / counted.length : null,
    list,
  };
}

function shares(rows: readonly RowOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of rows) counts[r.served] = (counts[r.served] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / rows.length]));
}

function cheapestProvider(rows: readonly RowOutcome[]): string {
  const first = rows[0];
  if (!first) return "";
  const totals = Object.keys(first.byProvider).map((id) => ({
    id,
    cost: sum(rows.map((r) => r.byProvider[id]?.cost ?? 0)),
  }));
  totals.sort((a, b) => a.cost - b.cost || (a.id < b.id ? -1 : 1));
  return totals[0]?.id ?? "";
}

const outcome = (r: RowOutcome, id: string) => r.byProvider[id] ?? r.baseline;

/** Each row to the baseline with probability p, else the cheapest; p makes the expected retention `target`. */
export function randomAt(
  rows: readonly RowOutcome[],
  cheap: string,
  target: number,
): Point & { baselineShare: number } {
  const c = point(rows, (r) => outcome(r, cheap));
  const b = point(rows, (r) => r.baseline);
  const rc = c.retention ?? 1;
  const p = rc >= 1 ? 0 : Math.min(1, Math.max(0, (target - rc) / (1 - rc)));
  const costUsd = (1 - p) * c.costUsd + p * b.costUsd;
  const retention = (1 - p) * rc + p;
  return { retention, costUsd, savings: b.costUsd > 0 ? 1 - costUsd / b.costUsd : null, baselineShare: p };
}

/** The fewest longest prompts to the baseline (the rest to the cheapest) that reach `target`. */
export function promptLengthAt(
  rows: readonly RowOutcome[],
  cheap: string,
  target: number,
): Point & { baselineShare: number } {
  const order = rows.map((_, i) => i).sort((a, b) => (rows[b]?.promptTokens ?? 0) - (rows[a]?.promptTokens ?? 0));
  const toBaseline = new Set<number>();
  const pick = (r: RowOutcome, i: number) => (toBaseline.has(i) ? r.baseline : outcome(r, cheap));
  const base = sum(rows.map((r) => r.baseline.score));
  let score = sum(rows.map((r) => outcome(r, cheap).score));
  for (const i of order) {
    if (base > 0 && score / base >= target - 1e-12) break;
    const r = rows[i];
    if (!r) continue;
    toBaseline.add(i);
    score += r.baseline.score - outcome(r, cheap).score;
  }
  const p = point(
    rows.map((r, i) => ({ ...r, realized: pick(r, i) })),
    (r) => r.realized,
  );
  return { ...p, baselineShare: rows.length > 0 ? toBaseline.size / rows.length : 0 };
}

export interface ReportInput {
  route: string;
  learner: string;
  objective: number;
  window: number;
  judgeRate: number;
  judgeNoise: number;
  controller?: ControllerTrace;
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** What running `threshold` would have delivered on these rows (rows without candidates: as served). */
export function hindsightAt(rows: readonly RowOutcome[], threshold: number): Point {
  return point(rows, (r) => {
    const choice = r.options ? policyChoice(r.options, threshold) : undefined;
    return choice ? outcome(r, choice.provider) : r.realized;
  });
}

export function controllerReport(rows: readonly RowOutcome[], t: ControllerTrace): ControllerReport {
  const start = t.windowStartRow;
  const span = start === null ? [] : rows.slice(start);
  const points = (t.last?.points ?? []).map((p, i): OperatingPointReport => ({
    objective: p.objective,
    met: p.met,
    threshold: p.threshold,
    retention: finiteOrNull(p.estimate),
    lowerBound: finiteOrNull(p.lower),
    savings: p.savings,
    support: t.support[i] ?? { away: 0, matched: 0, required: minAwaySupport(p.objective) },
    hindsight: hindsightAt(span, p.threshold),
  }));
  return {
    learnEvery: t.learnEvery,
    window: t.window,
    flipRate: t.flipRate,
    runs: t.runs,
    changes: Math.max(0, t.history.length - 1),
    threshold: t.history.at(-1)?.threshold ?? null,
    labels: t.last?.labels ?? 0,
    windowRows: start === null ? null : { start, rows: span.length },
    history: t.history,
    points,
  };
}

export function summarize(trace: SimTrace, input: ReportInput): SimReport {
  const rows = trace.rows;
  const realized = point(rows, (r) => r.realized);
  const baselineCostUsd = sum(rows.map((r) => r.baseline.cost));
  const spend = sum(rows.map((r) => r.judgeCost));
  const cheap = cheapestProvider(rows);
  const target = realized.retention ?? 1;
  const cascaded = rows.filter((r) => r.cascade !== null);
  return {
    route: input.route,
    learner: input.learner,
    rows: rows.length,
    skipped: { missingScore: trace.missingScore, refused: trace.refused },
    objective: input.objective,
    realized: {
      ...realized,
      savingsNetOfJudge: baselineCostUsd > 0 ? 1 - (realized.costUsd + spend) / baselineCostUsd : null,
    },
    baselineCostUsd,
    windows: windows(rows, input.window, input.objective),
    share: shares(rows),
    judge: {
      rate: input.judgeRate,
      noise: input.judgeNoise,
      judged: rows.filter((r) => r.judged).length,
      spendUsd: spend,
    },
    cascade:
      cascaded.length === 0
        ? null
        : {
            rows: cascaded.length,
            accepted: cascaded.filter((r) => r.cascade?.accepted !== null).length,
            escalatedAll: cascaded.filter((r) => r.cascade?.accepted === null).length,
          },
    compare: {
      single: point(rows, (r) => r.single),
      alwaysBaseline: point(rows, (r) => r.baseline),
      alwaysCheapest: { ...point(rows, (r) => outcome(r, cheap)), provider: cheap },
      random: randomAt(rows, cheap, target),
      promptLength: promptLengthAt(rows, cheap, target),
    },
    controller: input.controller ? controllerReport(rows, input.controller) : null,
  };
}
