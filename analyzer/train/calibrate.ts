import type { CalibrationTable } from "../../router/classify/model-metadata.js";
import type { DiffRow, DifficultyRows } from "./difficulty-rows.js";

/**
 * Weighted isotonic regression (pool adjacent violators) of targets on scores, returned as a breakpoint table
 * (block mean score -> block mean target), thinned to at most `maxPoints` breakpoints.
 */
export function isotonicTable(
  scores: readonly number[],
  targets: readonly number[],
  weights: readonly number[],
  maxPoints = 64,
): CalibrationTable {
  const order = scores.map((_, i) => i).sort((a, b) => (scores[a] ?? 0) - (scores[b] ?? 0));
  const blocks: { x: number; y: number; w: number }[] = [];
  for (const i of order) {
    const w = weights[i] ?? 1;
    blocks.push({ x: (scores[i] ?? 0) * w, y: (targets[i] ?? 0) * w, w });
    for (;;) {
      const last = blocks[blocks.length - 1];
      const prev = blocks[blocks.length - 2];
      if (last === undefined || prev === undefined || prev.y / prev.w <= last.y / last.w) break;
      blocks.splice(blocks.length - 2, 2, { x: prev.x + last.x, y: prev.y + last.y, w: prev.w + last.w });
    }
  }
  const points = blocks.map((b) => ({ x: b.x / b.w, y: b.y / b.w }));
  const step = Math.max(1, Math.ceil(points.length / maxPoints));
  const thinned = points.filter((_, i) => i % step === 0 || i === points.length - 1);
  return { kind: "isotonic", x: thinned.map((p) => p.x), y: thinned.map((p) => p.y) };
}

/**
 * Makes a calibration table strictly increasing over the whole (0,1) input range, so the calibrated output ranks
 * prompts exactly like the raw score (flat isotonic blocks would turn into ties): adds end points at 0 and 1 and
 * mixes a small ramp into the outputs, y' = (1 - ramp) * y + ramp * k / (K - 1).
 */
export function strictlyIncreasing(table: CalibrationTable, ramp = 0.05): CalibrationTable {
  const x = [...table.x];
  const y = [...table.y];
  if ((x[0] ?? 0) > 0) {
    x.unshift(0);
    y.unshift(y[0] ?? 0);
  }
  if ((x[x.length - 1] ?? 1) < 1) {
    x.push(1);
    y.push(y[y.length - 1] ?? 1);
  }
  const K = x.length;
  return {
    kind: "isotonic",
    x,
    y: y.map((v, k) => (1 - ramp) * Math.min(1, Math.max(0, v)) + (ramp * k) / Math.max(1, K - 1)),
  };
}

export interface Calibration {
  table: CalibrationTable;
  /** The validation rows with an IRT difficulty (the calibration fit; also the MAE check in evaluate.ts). */
  rows: DiffRow[];
  /** The chit-chat anchor's target: the easiest training prompt's IRT difficulty. */
  easiest: number;
}

/**
 * Calibration stage, on the validation split (never on test): strictly increasing map from the exported head's
 * probability to the IRT item difficulty on the router's [0,1] scale (isotonic fit + a small ramp, so ranking is
 * kept). Chit-chat anchor (a stated prior, not measured): the synthetic chat templates join the fit with the
 * difficulty of the easiest training prompt, so greetings and small talk read as easy on the absolute scale. The
 * table stays strictly increasing, so the ranking (and every APGR) is unchanged.
 */
export function calibrateDifficulty(
  rows: DifficultyRows,
  itemDifficulty: ReadonlyMap<string, number>,
  prob: (r: DiffRow) => number,
): Calibration {
  const valCal = rows.val.filter((r) => itemDifficulty.has(r.row.id));
  const easiest = Math.min(...itemDifficulty.values());
  const valRaw = [...valCal, ...rows.chat].map(prob);
  const table = strictlyIncreasing(
    isotonicTable(
      valRaw,
      [...valCal.map((r) => itemDifficulty.get(r.row.id) ?? 0), ...rows.chat.map(() => easiest)],
      valRaw.map(() => 1),
    ),
  );
  return { table, rows: valCal, easiest };
}
