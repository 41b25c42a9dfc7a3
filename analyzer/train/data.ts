import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { UnifiedRow } from "../eval/unified-rows.js";
import { parseUnifiedJsonl } from "../eval/unified-rows.js";

export const UNIFIED_FILE = join("unified", "routing_unified.jsonl");

export interface LoadedData {
  rows: UnifiedRow[];
  sha256: string;
  path: string;
}

export function loadUnified(dataDir: string): LoadedData {
  const path = join(dataDir, UNIFIED_FILE);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new Error(
      `cannot read ${path} (set --data or ROUTEWISE_DATA to the shared data folder): ${(err as Error).message}`,
      { cause: err },
    );
  }
  return { rows: parseUnifiedJsonl(text, path), sha256: createHash("sha256").update(text).digest("hex"), path };
}

/** RouteProfile's MBPP/HumanEval scores are ~0 for every model (answer extraction issue, see its README). */
export function usableForEval(row: UnifiedRow): boolean {
  return !(row.source === "routeprofile" && (row.benchmark === "mbpp" || row.benchmark === "human_eval"));
}

/** Mean score per model over rows (nulls skipped). */
export function modelMeans(rows: readonly UnifiedRow[]): Map<string, number> {
  const sum = new Map<string, number>();
  const n = new Map<string, number>();
  for (const r of rows) {
    for (const [m, s] of Object.entries(r.scores)) {
      if (s === null) continue;
      sum.set(m, (sum.get(m) ?? 0) + s);
      n.set(m, (n.get(m) ?? 0) + 1);
    }
  }
  return new Map([...sum].map(([m, s]) => [m, s / (n.get(m) ?? 1)]));
}

export interface ModelPair {
  strong: string;
  weak: string;
}

/**
 * All (stronger, weaker) pairs among models whose mean score is at least `minMean` (models below it mostly fail on
 * answer format, not on difficulty) and whose means differ by at least `minGap`.
 */
export function modelPairs(means: ReadonlyMap<string, number>, minMean: number, minGap: number): ModelPair[] {
  const models = [...means].filter(([, m]) => m >= minMean).sort((a, b) => b[1] - a[1]);
  const pairs: ModelPair[] = [];
  for (let i = 0; i < models.length; i++) {
    for (let j = i + 1; j < models.length; j++) {
      const a = models[i];
      const b = models[j];
      if (a !== undefined && b !== undefined && a[1] - b[1] >= minGap) pairs.push({ strong: a[0], weak: b[0] });
    }
  }
  return pairs;
}

/**
 * IRT-style, model-agnostic difficulty target: the mean over model pairs of max(0, strong - weak), i.e. how often a
 * weaker model falls short where a stronger one succeeds. Null when no pair is scored on the row.
 */
export function difficultyTarget(row: UnifiedRow, pairs: readonly ModelPair[]): number | null {
  let sum = 0;
  let n = 0;
  for (const p of pairs) {
    const s = row.scores[p.strong];
    const w = row.scores[p.weak];
    if (s === undefined || s === null || w === undefined || w === null) continue;
    sum += Math.max(0, Math.min(1, s - w));
    n++;
  }
  return n === 0 ? null : sum / n;
}
