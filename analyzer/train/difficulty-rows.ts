/** Targets stage: the difficulty rows (features + target + benchmark family) the difficulty head is fitted on. */
import type { UnifiedRow } from "../eval/unified-rows.js";
import type { TrainingSplit } from "./data.js";
import type { Features, Standardizer } from "./features.js";
import { denseOf, toSparse, vectorOf } from "./features.js";
import type { SparseRow } from "./linear.js";
import { rng } from "./rng.js";
import { syntheticRows } from "./synthetic.js";
import type { ModelPair } from "./targets.js";
import { difficultyTarget, vsStrongest } from "./targets.js";
import type { Variant } from "./variants.js";
import type { Family } from "./weak-labels.js";
import { labelRow } from "./weak-labels.js";

export interface DiffRow {
  row: UnifiedRow;
  x: SparseRow;
  /** Standardised dense block of x (the MLP's input). */
  dense: Float32Array;
  /** Difficulty target: mean gain of the strongest training model over each weaker one (see targets.ts). */
  target: number;
  /** Alternative target: the mean gain over all (stronger, weaker) training-model pairs (the `/all-pairs` variants). */
  targetAllPairs: number;
  family: Family | "chat-prior";
}

/** The row with the variant's training target. */
export function withTarget(r: DiffRow, v: Variant): DiffRow {
  return v.allPairsTarget === true ? { ...r, target: r.targetAllPairs } : r;
}

export interface DifficultyRows {
  fit: DiffRow[];
  val: DiffRow[];
  /** Scored in cross-validation only (target 0, unused). */
  unseen: DiffRow[];
  /** The chit-chat prior (target 0). */
  chat: DiffRow[];
}

function targetRows(
  rows: readonly UnifiedRow[],
  pairsBySource: ReadonlyMap<string, readonly ModelPair[]>,
  sparse: Features["sparse"],
): DiffRow[] {
  return rows.flatMap((row) => {
    const pairs = pairsBySource.get(row.source) ?? [];
    const target = difficultyTarget(row, vsStrongest(pairs));
    const targetAllPairs = difficultyTarget(row, pairs);
    if (target === null || targetAllPairs === null) return [];
    const x = sparse(row);
    return [{ row, x, dense: denseOf(x), target, targetAllPairs, family: labelRow(row.prompt, row.benchmark).family }];
  });
}

function scoredOnlyRows(rows: readonly UnifiedRow[], st: Standardizer): DiffRow[] {
  return rows.map((row) => {
    const x = toSparse(vectorOf(row.prompt), st);
    return {
      row,
      x,
      dense: denseOf(x),
      target: 0,
      targetAllPairs: 0,
      family: labelRow(row.prompt, row.benchmark).family,
    };
  });
}

/**
 * Chit-chat prior: the synthetic chat templates (greetings, thanks, one-line small talk; no passages) as
 * difficulty rows with target 0, weighted as one more family (1/sqrt(size)), for the "+chat" variants only.
 */
function chatPriorRows(seed: number, st: Standardizer, template: UnifiedRow): DiffRow[] {
  const chatPrompts = [
    ...new Set(
      syntheticRows(40, ["(unused)"], rng(seed + 11))
        .filter((s) => s.task === "chat" && s.domain === "general")
        .map((s) => s.prompt),
    ),
  ].sort();
  return chatPrompts.map((prompt, i) => {
    const x = toSparse(vectorOf(prompt), st);
    const row: UnifiedRow = { ...template, id: `chat-prior-${i}`, prompt, scores: {} };
    return { row, x, dense: denseOf(x), target: 0, targetAllPairs: 0, family: "chat-prior" };
  });
}

export function difficultyRows(
  split: TrainingSplit,
  pairsBySource: ReadonlyMap<string, readonly ModelPair[]>,
  features: Features,
  seed: number,
): DifficultyRows {
  return {
    fit: targetRows(split.fitRows, pairsBySource, features.sparse),
    val: targetRows(split.valRows, pairsBySource, features.sparse),
    unseen: scoredOnlyRows(split.unseenRows, features.st),
    chat: chatPriorRows(seed, features.st, split.fitRows[0] as UnifiedRow),
  };
}
