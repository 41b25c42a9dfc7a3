/**
 * Fit stage of the task and domain heads: benchmark or weak labels for data rows, plus template rows for labels the
 * data lacks and few-shot wrappers around data prompts.
 */
import { DENSE_SIZE } from "../../router/classify/featurize.js";
import { DOMAINS, TASKS } from "../../router/config/types.js";
import type { UnifiedRow } from "../eval/unified-rows.js";
import type { TrainingSplit } from "./data.js";
import type { Standardizer } from "./features.js";
import { F, toSparse, vectorOf } from "./features.js";
import type { HeadSpec, LabelledSet, LinearHead, SparseRow } from "./linear.js";
import { trainHead } from "./linear.js";
import { ProgressBar } from "./progress.js";
import { everydayRows } from "./everyday-templates.js";
import { fewShotRows, syntheticRows } from "./synthetic.js";
import { labelRow } from "./weak-labels.js";

/** L2 penalties of the hashed block tried for the task and domain heads (lowest validation loss wins). */
const LABEL_HEAD_L2 = [1e-5, 1e-4, 1e-3];

/** Few-shot wrapped data prompts added to the task/domain training (see `fewShotRows`). */
export const FEW_SHOT_ROWS = 400;

/** Everyday template requests per task added to the task/domain training (see `everydayRows`). */
export const EVERYDAY_ROWS_PER_TASK = 320;

/** Class weight = (inverse class frequency)^power: 0.5 was the first choice, 1 balances the classes fully. */
export const CLASS_WEIGHT_POWER = 1;

type LabelKind = "task" | "domain";

interface LabelRow {
  x: SparseRow;
  task: number;
  domain: number;
}

function labelSet(rows: readonly LabelRow[], kind: LabelKind): LabelledSet {
  const C = kind === "task" ? TASKS.length : DOMAINS.length;
  const counts = new Array<number>(C).fill(0);
  for (const r of rows) counts[r[kind]] = (counts[r[kind]] ?? 0) + 1;
  const targets = new Float32Array(rows.length * C);
  const weights = new Float32Array(rows.length);
  rows.forEach((r, i) => {
    targets[i * C + r[kind]] = 1;
    // Inverse class frequency to a power: rare labels (from templates) are not drowned by QA rows.
    weights[i] = (rows.length / (C * Math.max(1, counts[r[kind]] ?? 1))) ** CLASS_WEIGHT_POWER;
  });
  return { rows: rows.map((r) => r.x), targets, weights };
}

export interface LabelData {
  fit: LabelRow[];
  val: LabelRow[];
  /** How many template rows (both splits). */
  syntheticRows: number;
  /** How many everyday template rows (both splits). */
  everydayRows: number;
}

/** The labelled rows; draws the templates and few-shot wrappers from the split's generator (after the shuffle). */
export function labelRows(split: TrainingSplit, st: Standardizer): LabelData {
  const { fitRows, valRows, random } = split;
  const toLabel = (prompt: string, task: string, domain: string): LabelRow => ({
    x: toSparse(vectorOf(prompt), st),
    task: TASKS.indexOf(task as (typeof TASKS)[number]),
    domain: DOMAINS.indexOf(domain as (typeof DOMAINS)[number]),
  });
  const labelled = (rows: readonly UnifiedRow[]): LabelRow[] =>
    rows.map((r) => {
      const l = labelRow(r.prompt, r.benchmark);
      return toLabel(r.prompt, l.task, l.domain);
    });
  const passages = fitRows.map((r) => r.prompt).filter((p) => p.length > 500 && !/there are \d+ houses/i.test(p));
  const synth = syntheticRows(260, passages, random);
  const nSynthVal = Math.round(synth.length * 0.15);
  const synthRows = synth.map((s) => toLabel(s.prompt, s.task, s.domain));
  // Few-shot wrappers: fit rows wrapped around fit prompts, validation rows around validation prompts.
  const shots = (rows: readonly UnifiedRow[], n: number): LabelRow[] =>
    fewShotRows(
      rows.map((r) => ({ prompt: r.prompt, ...labelRow(r.prompt, r.benchmark) })),
      n,
      random,
    ).map((s) => toLabel(s.prompt, s.task, s.domain));
  const fitShots = shots(fitRows, FEW_SHOT_ROWS);
  const valShots = shots(valRows, Math.round(FEW_SHOT_ROWS * 0.15));
  // Drawn last, so the rows above are the same with or without them.
  const everyday = everydayRows(EVERYDAY_ROWS_PER_TASK, TASKS, random).map((s) => toLabel(s.prompt, s.task, s.domain));
  const isVal = (_: LabelRow, i: number): boolean => i % 7 === 0;
  const fit = [
    ...labelled(fitRows),
    ...synthRows.slice(nSynthVal),
    ...fitShots,
    ...everyday.filter((r, i) => !isVal(r, i)),
  ];
  const val = [...labelled(valRows), ...synthRows.slice(0, nSynthVal), ...valShots, ...everyday.filter(isVal)];
  return { fit, val, syntheticRows: synth.length, everydayRows: everyday.length };
}

interface LabelHead {
  head: LinearHead;
  l2Hashed: number;
}

function trainLabelHead(
  kind: LabelKind,
  l2Hashed: number,
  data: LabelData,
  run: { seed: number; epochs: number },
): LinearHead {
  const spec: HeadSpec = {
    kind: "softmax",
    classes: kind === "task" ? TASKS.length : DOMAINS.length,
    l2Dense: 1e-4,
    l2Hashed,
    useHashed: true,
  };
  const epochs = Math.min(run.epochs, 15);
  const b = new ProgressBar(`${kind} head (L2 ${l2Hashed})`, epochs);
  const head = trainHead(
    labelSet(data.fit, kind),
    labelSet(data.val, kind),
    spec,
    { featureCount: F, denseCount: DENSE_SIZE },
    {
      epochs,
      batchSize: 32,
      lr: 0.003,
      seed: run.seed + 1,
      onEpoch: (e, tl, vl) => {
        b.update(e, `loss ${tl.toFixed(4)} val ${vl.toFixed(4)}`);
      },
    },
  );
  b.update(epochs);
  return head;
}

/** The hashed block can memorise 7k rows; its L2 is picked on validation loss. */
function bestLabelHead(kind: LabelKind, data: LabelData, run: { seed: number; epochs: number }): LabelHead {
  let best: LabelHead | undefined;
  for (const l2Hashed of LABEL_HEAD_L2) {
    const head = trainLabelHead(kind, l2Hashed, data, run);
    if (best === undefined || head.valLoss < best.head.valLoss) best = { head, l2Hashed };
  }
  if (best === undefined) throw new Error("no L2 penalty to try for the label heads");
  return best;
}

export interface LabelHeads {
  task: LinearHead;
  domain: LinearHead;
  /** The hashed-block L2 picked per head. */
  l2Hashed: Record<LabelKind, number>;
}

export function trainLabelHeads(data: LabelData, run: { seed: number; epochs: number }): LabelHeads {
  const task = bestLabelHead("task", data, run);
  const domain = bestLabelHead("domain", data, run);
  return { task: task.head, domain: domain.head, l2Hashed: { task: task.l2Hashed, domain: domain.l2Hashed } };
}
