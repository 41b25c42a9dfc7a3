import type { UnifiedRow } from "../eval/unified-rows.js";

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

/** Pairs per source (model names differ across sources), from the fit split only. */
export function pairsBySource(fitRows: readonly UnifiedRow[]): Map<string, ModelPair[]> {
  const out = new Map<string, ModelPair[]>();
  for (const src of new Set(fitRows.map((r) => r.source))) {
    out.set(src, modelPairs(modelMeans(fitRows.filter((r) => r.source === src)), 0.3, 0.02));
  }
  return out;
}

/**
 * The strongest training model against every weaker one above the score floor: the validation pairs, and the pairs
 * of the difficulty target (a deployment routes between a strong model and cheaper ones; gains between two weak
 * models, e.g. one that fails on answer format, say little about what a strong model adds).
 */
export function vsStrongest(pairs: readonly ModelPair[]): ModelPair[] {
  const best = pairs[0]?.strong;
  return pairs.filter((p) => p.strong === best);
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
