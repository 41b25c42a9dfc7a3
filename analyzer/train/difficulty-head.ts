/** Fit stage of the difficulty head: one variant (linear or MLP) trained on difficulty rows, plus the length prior. */
import { DENSE_SIZE } from "../../router/classify/featurize.js";
import type { DiffRow, DifficultyRows } from "./difficulty-rows.js";
import { F } from "./features.js";
import type { HeadSpec, LabelledSet, LinearHead, SparseRow } from "./linear.js";
import { predictRow, trainHead } from "./linear.js";
import type { MlpHead, MlpSet } from "./mlp.js";
import { mlpLogit, trainMlpEnsemble } from "./mlp.js";
import { ProgressBar } from "./progress.js";
import type { Variant } from "./variants.js";
import { diffSpec, LEN_INDEX, MLP_OPTIONS } from "./variants.js";

/** A trained difficulty head: linear (LinearHead) or MLP on the dense block. */
export type DiffHead = { kind: "linear"; head: LinearHead; spec: HeadSpec } | { kind: "mlp"; head: MlpHead };

export interface DiffRun {
  seed: number;
  epochs: number;
  onEpoch?: (e: number, tl: number, vl: number) => void;
}

/** Rows weighted 1/sqrt(family size) so the big open-QA family does not dominate the fit. */
function familyWeights(rows: readonly DiffRow[]): Float32Array {
  const counts = new Map<DiffRow["family"], number>();
  for (const r of rows) counts.set(r.family, (counts.get(r.family) ?? 0) + 1);
  return Float32Array.from(rows, (r) => 1 / Math.sqrt(counts.get(r.family) ?? 1));
}

function mlpSet(rows: readonly DiffRow[]): MlpSet {
  return {
    x: rows.map((r) => r.dense),
    targets: Float32Array.from(rows, (r) => r.target),
    weights: familyWeights(rows),
  };
}

function diffSet(rows: readonly DiffRow[]): LabelledSet {
  return {
    rows: rows.map((r) => r.x),
    targets: Float32Array.from(rows, (r) => r.target),
    weights: familyWeights(rows),
  };
}

const withOnEpoch = (run: DiffRun): Pick<DiffRun, "onEpoch"> =>
  run.onEpoch === undefined ? {} : { onEpoch: run.onEpoch };

function trainMlpDiff(
  hidden: number,
  train: readonly DiffRow[],
  val: readonly DiffRow[] | null,
  run: DiffRun,
): DiffHead {
  const { members, ...options } = MLP_OPTIONS;
  const head = trainMlpEnsemble(
    mlpSet(train),
    DENSE_SIZE,
    { ...options, hidden, seed: run.seed, ...(val === null ? {} : { val: mlpSet(val) }), ...withOnEpoch(run) },
    members,
  );
  return { kind: "mlp", head };
}

function trainLinearDiff(
  v: Variant,
  train: readonly DiffRow[],
  val: readonly DiffRow[] | null,
  run: DiffRun,
): DiffHead {
  const { seed, epochs } = run;
  const spec = diffSpec(v);
  const set = diffSet(train);
  const head = trainHead(
    set,
    val === null ? set : diffSet(val),
    spec,
    { featureCount: F, denseCount: DENSE_SIZE },
    val === null
      ? { epochs: 8, batchSize: 64, lr: 0.01, seed }
      : { epochs, batchSize: 64, lr: 0.005, seed, ...withOnEpoch(run) },
  );
  return { kind: "linear", head, spec };
}

/** Without validation rows (cross-validation folds) a short fixed schedule; with them early stopping. */
export function trainDiff(
  v: Variant,
  train: readonly DiffRow[],
  val: readonly DiffRow[] | null,
  run: DiffRun,
): DiffHead {
  return v.mlp !== undefined ? trainMlpDiff(v.mlp, train, val, run) : trainLinearDiff(v, train, val, run);
}

function zLength(x: SparseRow): number {
  for (let k = 0; k < x.idx.length; k++) if (x.idx[k] === LEN_INDEX) return x.val[k] ?? 0;
  return 0;
}

/** The head's difficulty logit for a row with the length prior blended in. */
export function diffLogit(d: DiffHead, r: { x: SparseRow; dense: Float32Array }, blend: number): number {
  if (d.kind === "mlp") return mlpLogit(d.head, r.dense) + blend * zLength(r.x);
  const p = Math.min(1 - 1e-7, Math.max(1e-7, predictRow(d.head, r.x, d.spec, F, DENSE_SIZE)[0] ?? 0.5));
  return Math.log(p / (1 - p)) + blend * zLength(r.x);
}

export interface FittedDifficulty {
  variant: Variant;
  blend: number;
  /** Linear part of the difficulty column: the linear head itself, or (MLP) only the length prior. */
  linear: LinearHead;
  mlp: MlpHead | undefined;
  /** The exported difficulty probability (length prior folded in) of a row, before calibration. */
  prob: (r: DiffRow) => number;
}

function linearPart(trained: DiffHead): LinearHead {
  return trained.kind === "linear"
    ? trained.head
    : { W: new Float32Array(F), b: new Float32Array(1), classes: 1, bestEpoch: trained.head.bestEpoch, valLoss: 0 };
}

function blendedProbability(variant: Variant, linear: LinearHead, mlp: MlpHead | undefined): (r: DiffRow) => number {
  const blendedSpec = diffSpec(variant);
  if (blendedSpec.allowed !== undefined) blendedSpec.allowed[LEN_INDEX] = 1;
  return (r) => {
    const lin = predictRow(linear, r.x, blendedSpec, F, DENSE_SIZE)[0] ?? 0.5;
    if (mlp === undefined) return lin;
    const z = Math.log(lin / (1 - lin)) + mlpLogit(mlp, r.dense);
    return 1 / (1 + Math.exp(-z));
  };
}

/** The picked variant on all fit rows (early stopping on validation), the length prior folded into its weights. */
export function fitDifficultyHead(
  best: { variant: Variant; blend: number },
  rows: DifficultyRows,
  run: { seed: number; epochs: number },
): FittedDifficulty {
  const { variant, blend } = best;
  const bar = new ProgressBar("difficulty head", run.epochs);
  const trained = trainDiff(variant, [...rows.fit, ...(variant.chatPrior === true ? rows.chat : [])], rows.val, {
    seed: run.seed,
    epochs: run.epochs,
    onEpoch: (e, tl, vl) => {
      bar.update(e, `loss ${tl.toFixed(4)} val ${vl.toFixed(4)}`);
    },
  });
  const linear = linearPart(trained);
  const mlp = trained.kind === "mlp" ? trained.head : undefined;
  // Fold the length prior into the head (standardised space): logit += blend * z(len_chars).
  linear.W[LEN_INDEX] = (linear.W[LEN_INDEX] ?? 0) + blend;
  return { variant, blend, linear, mlp, prob: blendedProbability(variant, linear, mlp) };
}
