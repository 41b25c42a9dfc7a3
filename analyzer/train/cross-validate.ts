/**
 * Model selection on training data only: which difficulty variant (variants.ts) and length blend to ship. Three
 * views, averaged: leave-one-benchmark-family-out folds on the training split (ranking inside a family never seen),
 * 5 random folds (ranking a mix of families) and, when given, an unseen benchmark source (`unseen`, e.g.
 * RouterBench's train split: scored, never fitted).
 */
import { evaluatePair } from "../eval/eval.js";
import type { UnifiedRow } from "../eval/unified-rows.js";
import type { DiffHead } from "./difficulty-head.js";
import { diffLogit, trainDiff } from "./difficulty-head.js";
import type { DiffRow, DifficultyRows } from "./difficulty-rows.js";
import { withTarget } from "./difficulty-rows.js";
import { ProgressBar } from "./progress.js";
import { rng, shuffleInPlace } from "./rng.js";
import type { ModelPair } from "./targets.js";
import { vsStrongest } from "./targets.js";
import type { Variant } from "./variants.js";
import { blendsOf, VARIANTS } from "./variants.js";

interface ScoredRow {
  row: UnifiedRow;
  score: number;
}

const avg = (xs: number[]): number => xs.reduce((x, y) => x + y, 0) / Math.max(1, xs.length);

/** Only pairs whose quality gap on the group is at least this much count towards its APGR. */
const MIN_GROUP_GAP = 0.02;

/** The pair's APGR of the head and of the prompt-length router on the group; null when not both defined. */
function pairApgr(rows: readonly ScoredRow[], p: ModelPair): { router: number; length: number } | null {
  const kept: ScoredRow[] = [];
  const pr = rows.flatMap((r) => {
    const s = r.row.scores[p.strong];
    const w = r.row.scores[p.weak];
    if (s === undefined || s === null || w === undefined || w === null) return [];
    kept.push(r);
    return [{ strong: s, weak: w, strongCost: null, weakCost: null }];
  });
  const rep = evaluatePair(
    pr,
    kept.map((r) => r.score),
    kept.map((r) => r.row.prompt.length),
  );
  if (rep.router.apgr === null || rep.promptLength.apgr === null || rep.strongQuality - rep.weakQuality < MIN_GROUP_GAP)
    return null;
  return { router: rep.router.apgr, length: rep.promptLength.apgr };
}

/** Mean APGR over (strong, weak) pairs on a held-out group (NaN when no pair counts). */
function groupApgr(rows: readonly ScoredRow[], pairs: readonly ModelPair[]): { router: number; length: number } {
  const router: number[] = [];
  const length: number[] = [];
  for (const p of pairs) {
    const a = pairApgr(rows, p);
    if (a === null) continue;
    router.push(a.router);
    length.push(a.length);
  }
  const mean = (xs: number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
  return { router: mean(router), length: mean(length) };
}

/** RouterBench pairs scored (not trained on) when its train split is used as an unseen-benchmark validation set. */
const ROUTERBENCH_VALIDATION_PAIRS: ModelPair[] = [
  "mistralai/mixtral-8x7b-chat",
  "gpt-3.5-turbo-1106",
  "meta/llama-2-70b-chat",
].map((weak) => ({ strong: "gpt-4-1106-preview", weak }));

type SplitKind = "family" | "random" | "unseen";

interface CvSplit {
  name: string;
  kind: SplitKind;
  test: (r: DiffRow, i: number) => boolean;
}

/** Families with at least 100 rows, 5 random folds, and the unseen source when there is one. */
function cvSplits(rows: readonly DiffRow[], unseen: readonly DiffRow[], seed: number): CvSplit[] {
  const families = [...new Set(rows.map((r) => r.family))].filter(
    (f) => rows.filter((r) => r.family === f).length >= 100,
  );
  const fold = rows.map((_, i) => i % 5);
  shuffleInPlace(fold, rng(seed + 7));
  const splits: CvSplit[] = [
    ...families.map((f) => ({ name: f, kind: "family" as const, test: (r: DiffRow) => r.family === f })),
    ...[0, 1, 2, 3, 4].map((k) => ({
      name: `fold${k}`,
      kind: "random" as const,
      test: (_: DiffRow, i: number) => fold[i] === k,
    })),
  ];
  if (unseen.length > 0) splits.push({ name: "unseen", kind: "unseen", test: () => false });
  return splits;
}

type Scores = Record<SplitKind, number[]>;

/** APGRs per "<variant>@<blend>" (and "length-baseline"), in first-scored order (the table's order). */
class ScoreTable {
  readonly scores = new Map<string, Scores>();

  add(key: string, kind: SplitKind, value: number): void {
    if (!Number.isFinite(value)) return;
    let s = this.scores.get(key);
    if (s === undefined) {
      s = { family: [], random: [], unseen: [] };
      this.scores.set(key, s);
    }
    s[kind].push(value);
  }
}

interface CvInput {
  rows: readonly DiffRow[];
  unseen: readonly DiffRow[];
  chat: readonly DiffRow[];
  /** The pairs scored on the training folds. */
  pairs: readonly ModelPair[];
  seed: number;
}

/** Trains the variant without the split's test rows and scores it (at every blend) on them. */
function scoreSplit(v: Variant, split: CvSplit, input: CvInput, table: ScoreTable): void {
  const train = [...input.rows.filter((r, i) => !split.test(r, i)), ...(v.chatPrior === true ? input.chat : [])].map(
    (r) => withTarget(r, v),
  );
  const test = (split.kind === "unseen" ? input.unseen : input.rows.filter((r, i) => split.test(r, i))).map((r) =>
    withTarget(r, v),
  );
  const testPairs = split.kind === "unseen" ? ROUTERBENCH_VALIDATION_PAIRS : input.pairs;
  const head: DiffHead = trainDiff(v, train, null, { seed: input.seed, epochs: 8 });
  for (const blend of blendsOf(v)) {
    const a = groupApgr(
      test.map((r) => ({ row: r.row, score: diffLogit(head, r, blend) })),
      testPairs,
    );
    table.add(`${v.name}@${blend}`, split.kind, a.router);
    if (v.name === "length") table.add("length-baseline", split.kind, a.length);
  }
}

export interface CvResult {
  /** "<variant>@<blend>" -> { family, random, unseen, score }, plus "length-baseline". */
  table: Record<string, { family: number; random: number; unseen: number | null; score: number }>;
  best: { variant: Variant; blend: number };
}

function summarise(scores: ScoreTable): CvResult["table"] {
  const table: CvResult["table"] = {};
  for (const [k, a] of scores.scores) {
    const parts = [avg(a.family), avg(a.random), ...(a.unseen.length > 0 ? [avg(a.unseen)] : [])];
    table[k] = {
      family: avg(a.family),
      random: avg(a.random),
      unseen: a.unseen.length > 0 ? avg(a.unseen) : null,
      score: avg(parts),
    };
  }
  return table;
}

/** The highest mean score (first in VARIANTS / blend order on ties). */
function pickBest(table: CvResult["table"]): CvResult["best"] {
  let best = { variant: VARIANTS[0] as Variant, blend: 0 };
  let bestScore = -Infinity;
  for (const v of VARIANTS) {
    for (const blend of blendsOf(v)) {
      const sc = table[`${v.name}@${blend}`]?.score ?? -Infinity;
      if (sc > bestScore + 1e-9) {
        bestScore = sc;
        best = { variant: v, blend };
      }
    }
  }
  return best;
}

function crossValidate(input: CvInput): CvResult {
  const splits = cvSplits(input.rows, input.unseen, input.seed);
  const bar = new ProgressBar("cross-validation", VARIANTS.length * splits.length);
  const scores = new ScoreTable();
  let done = 0;
  for (const v of VARIANTS) {
    for (const split of splits) {
      scoreSplit(v, split, input, scores);
      bar.update(++done, `${v.name} / ${split.name}`);
    }
  }
  const table = summarise(scores);
  return { table, best: pickBest(table) };
}

/** Cross-validates every variant on the LLMRouter fit rows (and the unseen source) and logs the table. */
export function selectDifficultyVariant(
  rows: DifficultyRows,
  pairsBySource: ReadonlyMap<string, readonly ModelPair[]>,
  seed: number,
): CvResult {
  const cv = crossValidate({
    rows: rows.fit.filter((r) => r.row.source === "llmrouter"),
    unseen: rows.unseen,
    chat: rows.chat,
    pairs: vsStrongest(pairsBySource.get("llmrouter") ?? []),
    seed,
  });
  process.stderr.write(
    `validation APGR (family / random / unseen -> score): ${JSON.stringify(cv.table)}\n-> ${cv.best.variant.name} @ blend ${cv.best.blend}\n`,
  );
  return cv;
}
