/**
 * The numbers of a replay. Retention is Σ served score / Σ baseline score over the rows (the ratio ADR 10 measures);
 * savings are 1 − cost / always-baseline cost. The comparisons reach the policy's realized retention with no
 * router at all: random (each row to the baseline with the probability that mixes the cheapest candidate and the
 * baseline to that retention, in expectation) and prompt length (the longest prompts to the baseline, the rest to
 * the cheapest, as few as reach it — a threshold chosen in hindsight, which flatters it).
 */
import type { RowOutcome, SimTrace } from "./engine.js";

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
  };
}
