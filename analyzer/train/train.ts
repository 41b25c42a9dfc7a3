/**
 * Trains the built-in request analyzer and writes router/classify/models/default/{model.onnx,metadata.json,MODEL_CARD.md}.
 *
 *   npx tsx analyzer/train/train.ts [--data ../shared/data] [--out router/classify/models/default] [--seed 42]
 *
 * Data: ../shared/data/unified/routing_unified.jsonl (override with --data or ROUTEWISE_DATA). What ships is trained
 * on MIT data only (LLMRouter train split); RouteProfile and RouterBench test splits are held out for evaluation.
 * `--include-routerbench` adds RouterBench's train split (no data licence: research models only, not for shipping).
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DOMAINS, TASKS } from "../../router/config/types.js";
import type { DifficultyMlp } from "../onnx/analyzer-graph.js";
import type { DenseClip } from "../onnx/analyzer-graph.js";
import { analyzerModelSpec, HEAD_WIDTH } from "../onnx/analyzer-graph.js";
import { evaluatePair } from "../eval/eval.js";
import {
  DEFAULT_FEATURE_CONFIG,
  DENSE_FEATURE_NAMES,
  DENSE_SIZE,
  featureSize,
  featurize,
} from "../../router/classify/featurize.js";
import type { ClassifierMetadata } from "../../router/classify/model-metadata.js";
import { analyzerTensorSpecs, METADATA_SCHEMA } from "../../router/classify/model-metadata.js";
import { OnnxClassifier } from "../../router/classify/onnx-classifier.js";
import { encodeOnnxModel } from "../onnx/onnx-writer.js";
import type { Classification } from "../../router/classify/types.js";
import type { UnifiedRow } from "../eval/unified-rows.js";
import { isotonicTable, strictlyIncreasing } from "./calibrate.js";
import { ANCHOR_SCORE, DEFAULT_IRT, fitIrt, irtAnchor, irtToUnit } from "./irt.js";
import type { ModelPair } from "./data.js";
import { difficultyTarget, loadUnified, modelMeans, modelPairs, usableForEval } from "./data.js";
import type { HeadSpec, LabelledSet, LinearHead, SparseRow } from "./linear.js";
import { predictRow, trainHead } from "./linear.js";
import type { MlpHead, MlpSet } from "./mlp.js";
import { mlpLogit, trainMlpEnsemble } from "./mlp.js";
import { writeModelCard } from "./model-card.js";
import { ProgressBar } from "./progress.js";
import type { EvalSpec, PairResult } from "./report.js";
import { labelAccuracy, pairResult } from "./report.js";
import { rng, shuffleInPlace } from "./rng.js";
import { fewShotRows, syntheticRows } from "./synthetic.js";
import type { Family } from "./weak-labels.js";
import { labelRow } from "./weak-labels.js";

const F = featureSize(DEFAULT_FEATURE_CONFIG);

interface Args {
  data: string;
  out: string;
  seed: number;
  epochs: number;
  includeRouterbench: boolean;
}

function args(): Args {
  const { values } = parseArgs({
    options: {
      data: { type: "string" },
      out: { type: "string" },
      seed: { type: "string", default: "42" },
      epochs: { type: "string", default: "30" },
      "include-routerbench": { type: "boolean", default: false },
    },
  });
  return {
    data: resolve(values.data ?? process.env["ROUTEWISE_DATA"] ?? "../shared/data"),
    out: resolve(values.out ?? "router/classify/models/default"),
    seed: Number(values.seed),
    epochs: Number(values.epochs),
    includeRouterbench: values["include-routerbench"],
  };
}

// --------------------------------------------------------------------------------------------- features

interface Standardizer {
  mean: Float64Array;
  std: Float64Array;
}

function fitStandardizer(vectors: readonly Float32Array[]): Standardizer {
  const mean = new Float64Array(DENSE_SIZE);
  const sq = new Float64Array(DENSE_SIZE);
  for (const v of vectors) for (let i = 0; i < DENSE_SIZE; i++) mean[i] = (mean[i] ?? 0) + (v[i] ?? 0) / vectors.length;
  for (const v of vectors)
    for (let i = 0; i < DENSE_SIZE; i++) sq[i] = (sq[i] ?? 0) + ((v[i] ?? 0) - (mean[i] ?? 0)) ** 2 / vectors.length;
  return { mean, std: sq.map((s) => Math.max(1e-3, Math.sqrt(s))) };
}

/**
 * Standardised dense features are clipped to ±DENSE_CLIP (in the exported graph too, see `denseClip`): beyond that
 * the training data says nothing, and unclipped a prompt unlike it (e.g. 25 few-shot exemplars when training had
 * none: z ≈ 1000) drives every head to an extreme.
 */
const DENSE_CLIP = 5;

function clipZ(z: number): number {
  return Math.min(DENSE_CLIP, Math.max(-DENSE_CLIP, z));
}

/** The clip bounds in raw feature units, for the graph. */
function denseClip(st: Standardizer): DenseClip {
  return {
    lo: Float32Array.from(st.mean, (m, i) => m - DENSE_CLIP * (st.std[i] ?? 1)),
    hi: Float32Array.from(st.mean, (m, i) => m + DENSE_CLIP * (st.std[i] ?? 1)),
  };
}

function toSparse(v: Float32Array, st: Standardizer): SparseRow {
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const x = i < DENSE_SIZE ? clipZ(((v[i] ?? 0) - (st.mean[i] ?? 0)) / (st.std[i] ?? 1)) : (v[i] ?? 0);
    if (x !== 0) {
      idx.push(i);
      val.push(x);
    }
  }
  return { idx: Int32Array.from(idx), val: Float32Array.from(val) };
}

function vectorOf(prompt: string): Float32Array {
  return featurize({ prompt, system: "", totalChars: prompt.length }, DEFAULT_FEATURE_CONFIG);
}

// --------------------------------------------------------------------------------------------- difficulty

interface DiffRow {
  row: UnifiedRow;
  x: SparseRow;
  /** Standardised dense block of x (the MLP's input). */
  dense: Float32Array;
  /** Difficulty target: mean gain of the strongest training model over each weaker one (see data.ts). */
  target: number;
  /** Alternative target: the mean gain over all (stronger, weaker) training-model pairs (the `/all-pairs` variants). */
  targetAllPairs: number;
  family: Family | "chat-prior";
}

/** The row with the variant's training target. */
function withTarget(r: DiffRow, v: Variant): DiffRow {
  return v.allPairsTarget === true ? { ...r, target: r.targetAllPairs } : r;
}

function denseOf(x: SparseRow): Float32Array {
  const d = new Float32Array(DENSE_SIZE);
  for (let k = 0; k < x.idx.length; k++) {
    const i = x.idx[k] ?? 0;
    if (i < DENSE_SIZE) d[i] = x.val[k] ?? 0;
  }
  return d;
}

interface Variant {
  name: string;
  useHashed: boolean;
  /** Restrict the head to these dense features. */
  only?: readonly string[];
  /** Hidden units of an MLP head on the dense features (instead of a linear head). */
  mlp?: number;
  /** Add the synthetic chit-chat prompts to the difficulty training with target 0 ("no gain from a stronger model"). */
  chatPrior?: boolean;
  /** Train on the all-pairs target instead of the strongest-vs-weaker one. */
  allPairsTarget?: boolean;
}

/** L2 penalties of the hashed block tried for the task and domain heads (lowest validation loss wins). */
const LABEL_HEAD_L2 = [1e-5, 1e-4, 1e-3];

/** Few-shot wrapped data prompts added to the task/domain training (see `fewShotRows`). */
const FEW_SHOT_ROWS = 400;

const LENGTH_FEATURES = ["len_chars", "len_words", "len_lines", "len_sentences", "last_block_chars"];

const VARIANTS: Variant[] = [
  { name: "length", useHashed: false, only: LENGTH_FEATURES },
  { name: "dense", useHashed: false },
  { name: "dense+hashed", useHashed: true },
  { name: "mlp32", useHashed: false, mlp: 32 },
  { name: "mlp32+chat", useHashed: false, mlp: 32, chatPrior: true },
  { name: "dense+chat", useHashed: false, chatPrior: true },
  { name: "dense/all-pairs", useHashed: false, allPairsTarget: true },
  { name: "mlp32/all-pairs", useHashed: false, mlp: 32, allPairsTarget: true },
];

/** MLP hyper-parameters (fixed; only the variant and blend are searched). `members` seeds are averaged. */
const MLP_OPTIONS = { epochs: 20, batchSize: 64, lr: 0.003, weightDecay: 0.05, members: 5 };

/**
 * Length prior blended into the head's logit: logit + blend · z(len_chars), z = standardised log prompt length.
 * Picked with the variant on validation (never on test); folded into the exported weights.
 */
const BLENDS = [0, 0.25, 0.5, 0.75, 1, 1.5];
const LEN_INDEX = (DENSE_FEATURE_NAMES as readonly string[]).indexOf("len_chars");

function diffSpec(v: Variant): HeadSpec {
  const spec: HeadSpec = { kind: "binary", classes: 1, l2Dense: 1e-3, l2Hashed: 1e-3, useHashed: v.useHashed };
  if (v.only !== undefined) {
    const names: readonly string[] = DENSE_FEATURE_NAMES;
    spec.allowed = Uint8Array.from({ length: F }, (_, i) =>
      i < DENSE_SIZE && v.only?.includes(names[i] ?? "") === true ? 1 : 0,
    );
  }
  return spec;
}

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

/** A trained difficulty head: linear (LinearHead) or MLP on the dense block. */
type DiffHead = { kind: "linear"; head: LinearHead; spec: HeadSpec } | { kind: "mlp"; head: MlpHead };

function trainDiff(
  v: Variant,
  train: readonly DiffRow[],
  val: readonly DiffRow[] | null,
  run: { seed: number; epochs: number; onEpoch?: (e: number, tl: number, vl: number) => void },
): DiffHead {
  const { seed, epochs, onEpoch } = run;
  if (v.mlp !== undefined) {
    const { members, ...options } = MLP_OPTIONS;
    const head = trainMlpEnsemble(
      mlpSet(train),
      DENSE_SIZE,
      {
        ...options,
        hidden: v.mlp,
        seed,
        ...(val === null ? {} : { val: mlpSet(val) }),
        ...(onEpoch === undefined ? {} : { onEpoch }),
      },
      members,
    );
    return { kind: "mlp", head };
  }
  const spec = diffSpec(v);
  const set = diffSet(train);
  const head = trainHead(
    set,
    val === null ? set : diffSet(val),
    spec,
    { featureCount: F, denseCount: DENSE_SIZE },
    val === null
      ? { epochs: 8, batchSize: 64, lr: 0.01, seed }
      : { epochs, batchSize: 64, lr: 0.005, seed, ...(onEpoch === undefined ? {} : { onEpoch }) },
  );
  return { kind: "linear", head, spec };
}

/** Rows weighted 1/sqrt(family size) so the big open-QA family does not dominate the fit. */
function diffSet(rows: readonly DiffRow[]): LabelledSet {
  const counts = new Map<DiffRow["family"], number>();
  for (const r of rows) counts.set(r.family, (counts.get(r.family) ?? 0) + 1);
  return {
    rows: rows.map((r) => r.x),
    targets: Float32Array.from(rows, (r) => r.target),
    weights: Float32Array.from(rows, (r) => 1 / Math.sqrt(counts.get(r.family) ?? 1)),
  };
}

function zLength(x: SparseRow): number {
  for (let k = 0; k < x.idx.length; k++) if (x.idx[k] === LEN_INDEX) return x.val[k] ?? 0;
  return 0;
}

/** The head's difficulty logit for a row with the length prior blended in. */
function diffLogit(d: DiffHead, r: { x: SparseRow; dense: Float32Array }, blend: number): number {
  if (d.kind === "mlp") return mlpLogit(d.head, r.dense) + blend * zLength(r.x);
  const p = Math.min(1 - 1e-7, Math.max(1e-7, predictRow(d.head, r.x, d.spec, F, DENSE_SIZE)[0] ?? 0.5));
  return Math.log(p / (1 - p)) + blend * zLength(r.x);
}

interface ScoredRow {
  row: UnifiedRow;
  score: number;
}

/** Mean APGR over (strong, weak) pairs on a held-out group; only pairs whose quality gap is at least 0.02. */
function groupApgr(rows: readonly ScoredRow[], pairs: readonly ModelPair[]): { router: number; length: number } {
  const router: number[] = [];
  const length: number[] = [];
  for (const p of pairs) {
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
    if (rep.router.apgr === null || rep.promptLength.apgr === null || rep.strongQuality - rep.weakQuality < 0.02)
      continue;
    router.push(rep.router.apgr);
    length.push(rep.promptLength.apgr);
  }
  const avg = (xs: number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
  return { router: avg(router), length: avg(length) };
}

/**
 * The strongest training model against every weaker one above the score floor: the validation pairs, and the pairs
 * of the difficulty target (a deployment routes between a strong model and cheaper ones; gains between two weak
 * models, e.g. one that fails on answer format, say little about what a strong model adds).
 */
function vsStrongest(pairs: readonly ModelPair[]): ModelPair[] {
  const best = pairs[0]?.strong;
  return pairs.filter((p) => p.strong === best);
}

/** RouterBench pairs scored (not trained on) when its train split is used as an unseen-benchmark validation set. */
const ROUTERBENCH_VALIDATION_PAIRS: ModelPair[] = [
  "mistralai/mixtral-8x7b-chat",
  "gpt-3.5-turbo-1106",
  "meta/llama-2-70b-chat",
].map((weak) => ({ strong: "gpt-4-1106-preview", weak }));

interface CvResult {
  /** "<variant>@<blend>" -> { family, random, unseen, score }, plus "length-baseline". */
  table: Record<string, { family: number; random: number; unseen: number | null; score: number }>;
  best: { variant: Variant; blend: number };
}

/**
 * Model selection on training data only. Three views, averaged: leave-one-benchmark-family-out folds on the
 * training split (ranking inside a family never seen), 5 random folds (ranking a mix of families) and, when given,
 * an unseen benchmark source (`unseen`, e.g. RouterBench's train split: scored, never fitted).
 */
function crossValidate(
  rows: readonly DiffRow[],
  pairs: readonly ModelPair[],
  unseen: readonly DiffRow[],
  chat: readonly DiffRow[],
  seed: number,
): CvResult {
  const families = [...new Set(rows.map((r) => r.family))].filter(
    (f) => rows.filter((r) => r.family === f).length >= 100,
  );
  const fold = rows.map((_, i) => i % 5);
  shuffleInPlace(fold, rng(seed + 7));
  const splits: { name: string; kind: "family" | "random" | "unseen"; test: (r: DiffRow, i: number) => boolean }[] = [
    ...families.map((f) => ({ name: f, kind: "family" as const, test: (r: DiffRow) => r.family === f })),
    ...[0, 1, 2, 3, 4].map((k) => ({
      name: `fold${k}`,
      kind: "random" as const,
      test: (_: DiffRow, i: number) => fold[i] === k,
    })),
  ];
  if (unseen.length > 0) splits.push({ name: "unseen", kind: "unseen", test: () => false });
  const cvPairs = vsStrongest(pairs);
  const bar = new ProgressBar("cross-validation", VARIANTS.length * splits.length);
  const acc = new Map<string, { family: number[]; random: number[]; unseen: number[] }>();
  const slot = (k: string): { family: number[]; random: number[]; unseen: number[] } => {
    let a = acc.get(k);
    if (a === undefined) {
      a = { family: [], random: [], unseen: [] };
      acc.set(k, a);
    }
    return a;
  };
  let done = 0;
  for (const v of VARIANTS) {
    for (const split of splits) {
      const train = [...rows.filter((r, i) => !split.test(r, i)), ...(v.chatPrior === true ? chat : [])].map((r) =>
        withTarget(r, v),
      );
      const test = (split.kind === "unseen" ? unseen : rows.filter((r, i) => split.test(r, i))).map((r) =>
        withTarget(r, v),
      );
      const testPairs = split.kind === "unseen" ? ROUTERBENCH_VALIDATION_PAIRS : cvPairs;
      const head = trainDiff(v, train, null, { seed, epochs: 8 });
      for (const blend of v.only === undefined ? BLENDS : [0]) {
        const a = groupApgr(
          test.map((r) => ({ row: r.row, score: diffLogit(head, r, blend) })),
          testPairs,
        );
        if (Number.isFinite(a.router)) slot(`${v.name}@${blend}`)[split.kind].push(a.router);
        if (v.name === "length" && Number.isFinite(a.length)) slot("length-baseline")[split.kind].push(a.length);
      }
      bar.update(++done, `${v.name} / ${split.name}`);
    }
  }
  const avg = (xs: number[]): number => xs.reduce((x, y) => x + y, 0) / Math.max(1, xs.length);
  const table: CvResult["table"] = {};
  for (const [k, a] of acc) {
    const parts = [avg(a.family), avg(a.random), ...(a.unseen.length > 0 ? [avg(a.unseen)] : [])];
    table[k] = {
      family: avg(a.family),
      random: avg(a.random),
      unseen: a.unseen.length > 0 ? avg(a.unseen) : null,
      score: avg(parts),
    };
  }
  let best = { variant: VARIANTS[0] as Variant, blend: 0 };
  let bestScore = -Infinity;
  for (const v of VARIANTS) {
    for (const blend of v.only === undefined ? BLENDS : [0]) {
      const sc = table[`${v.name}@${blend}`]?.score ?? -Infinity;
      if (sc > bestScore + 1e-9) {
        bestScore = sc;
        best = { variant: v, blend };
      }
    }
  }
  return { table, best };
}

// --------------------------------------------------------------------------------------------- labels

interface LabelRow {
  x: SparseRow;
  task: number;
  domain: number;
}

function labelSet(rows: readonly LabelRow[], kind: "task" | "domain"): LabelledSet {
  const C = kind === "task" ? TASKS.length : DOMAINS.length;
  const counts = new Array<number>(C).fill(0);
  for (const r of rows) counts[r[kind]] = (counts[r[kind]] ?? 0) + 1;
  const targets = new Float32Array(rows.length * C);
  const weights = new Float32Array(rows.length);
  rows.forEach((r, i) => {
    targets[i * C + r[kind]] = 1;
    // Square-root inverse class frequency: rare labels (from templates) are not drowned by QA rows.
    weights[i] = Math.sqrt(rows.length / (C * Math.max(1, counts[r[kind]] ?? 1)));
  });
  return { rows: rows.map((r) => r.x), targets, weights };
}

// --------------------------------------------------------------------------------------------- export

function combine(
  heads: { diff: LinearHead; task: LinearHead; domain: LinearHead },
  st: Standardizer,
): { W: Float32Array; b: Float32Array } {
  const W = new Float32Array(F * HEAD_WIDTH);
  const b = new Float32Array(HEAD_WIDTH);
  const parts: [LinearHead, number][] = [
    [heads.diff, 0],
    [heads.task, 1],
    [heads.domain, 1 + TASKS.length],
  ];
  for (const [head, offset] of parts) {
    for (let c = 0; c < head.classes; c++) {
      let bias = head.b[c] ?? 0;
      for (let i = 0; i < F; i++) {
        let w = head.W[i * head.classes + c] ?? 0;
        if (i < DENSE_SIZE) {
          // Fold the standardisation (x - mean) / std into the weights so the graph takes raw features.
          w /= st.std[i] ?? 1;
          bias -= w * (st.mean[i] ?? 0);
        }
        W[i * HEAD_WIDTH + offset + c] = w;
      }
      b[offset + c] = bias;
    }
  }
  return { W, b };
}

/** The MLP with the dense standardisation folded into its first layer, so the graph takes raw features. */
function foldMlp(m: MlpHead, st: Standardizer): DifficultyMlp {
  const H = m.hidden;
  const W1 = new Float32Array(m.W1.length);
  const b1 = Float32Array.from(m.b1);
  for (let i = 0; i < m.inputs; i++) {
    for (let j = 0; j < H; j++) {
      const w = (m.W1[i * H + j] ?? 0) / (st.std[i] ?? 1);
      W1[i * H + j] = w;
      b1[j] = (b1[j] ?? 0) - w * (st.mean[i] ?? 0);
    }
  }
  return { inputs: m.inputs, hidden: H, W1, b1, W2: Float32Array.from(m.W2), b2: m.b2 };
}

async function classifyAll(
  classifier: OnnxClassifier,
  rows: readonly UnifiedRow[],
): Promise<Map<string, Classification>> {
  const out = new Map<string, Classification>();
  const bar = new ProgressBar("evaluating exported", rows.length);
  for (let i = 0; i < rows.length; i += 256) {
    const batch = rows.slice(i, i + 256);
    const res = await classifier.classifyUncached(
      batch.map((r) => ({ prompt: r.prompt, system: "", totalChars: r.prompt.length })),
    );
    batch.forEach((r, k) => {
      const c = res[k];
      if (c !== undefined) out.set(r.id, c);
    });
    bar.update(Math.min(rows.length, i + 256));
  }
  return out;
}

// --------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const a = args();
  const started = Date.now();
  const data = loadUnified(a.data);
  const random = rng(a.seed);
  const inTrain = (r: UnifiedRow): boolean =>
    r.split === "train" && (r.source === "llmrouter" || (a.includeRouterbench && r.source === "routerbench"));
  const trainAll = shuffleInPlace(data.rows.filter(inTrain), random);
  const nVal = Math.round(trainAll.length * 0.15);
  const valRows = trainAll.slice(0, nVal);
  const fitRows = trainAll.slice(nVal);
  process.stderr.write(
    `data ${data.path} sha256 ${data.sha256.slice(0, 16)}: fit ${fitRows.length}, validation ${valRows.length}\n`,
  );

  // Pairs per source (model names differ across sources), from the fit split only.
  const pairsBySource = new Map<string, ModelPair[]>();
  for (const src of new Set(fitRows.map((r) => r.source))) {
    pairsBySource.set(src, modelPairs(modelMeans(fitRows.filter((r) => r.source === src)), 0.3, 0.02));
  }

  const bar = new ProgressBar("featurizing", fitRows.length + valRows.length);
  const vec = new Map<string, Float32Array>();
  [...fitRows, ...valRows].forEach((r, i) => {
    vec.set(r.id, vectorOf(r.prompt));
    if (i % 200 === 0 || i === fitRows.length + valRows.length - 1) bar.update(i + 1);
  });
  const st = fitStandardizer(fitRows.map((r) => vec.get(r.id) ?? new Float32Array(F)));
  const sparse = (r: UnifiedRow): SparseRow => toSparse(vec.get(r.id) ?? vectorOf(r.prompt), st);

  const diffRows = (rows: readonly UnifiedRow[]): DiffRow[] =>
    rows.flatMap((row) => {
      const pairs = pairsBySource.get(row.source) ?? [];
      const target = difficultyTarget(row, vsStrongest(pairs));
      const targetAllPairs = difficultyTarget(row, pairs);
      if (target === null || targetAllPairs === null) return [];
      const x = sparse(row);
      return [
        { row, x, dense: denseOf(x), target, targetAllPairs, family: labelRow(row.prompt, row.benchmark).family },
      ];
    });
  const fitDiff = diffRows(fitRows);
  const valDiff = diffRows(valRows);

  // RouterBench's train split has no data licence: never fitted (unless --include-routerbench), only scored as an
  // unseen benchmark source when picking the variant.
  const unseenRows = a.includeRouterbench
    ? []
    : data.rows.filter((r) => r.source === "routerbench" && r.split === "train");
  const unseenDiff: DiffRow[] = unseenRows.map((row) => {
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
  // Chit-chat prior: the synthetic chat templates (greetings, thanks, one-line small talk; no passages) as
  // difficulty rows with target 0, weighted as one more family (1/sqrt(size)), for the "+chat" variants only.
  const chatPrompts = [
    ...new Set(
      syntheticRows(40, ["(unused)"], rng(a.seed + 11))
        .filter((s) => s.task === "chat" && s.domain === "general")
        .map((s) => s.prompt),
    ),
  ].sort();
  const chatDiff: DiffRow[] = chatPrompts.map((prompt, i) => {
    const x = toSparse(vectorOf(prompt), st);
    const row: UnifiedRow = { ...(fitRows[0] as UnifiedRow), id: `chat-prior-${i}`, prompt, scores: {} };
    return { row, x, dense: denseOf(x), target: 0, targetAllPairs: 0, family: "chat-prior" };
  });
  const llmPairs = pairsBySource.get("llmrouter") ?? [];
  const cv = crossValidate(
    fitDiff.filter((r) => r.row.source === "llmrouter"),
    llmPairs,
    unseenDiff,
    chatDiff,
    a.seed,
  );
  const chosen = cv.best.variant;
  const blend = cv.best.blend;
  process.stderr.write(
    `validation APGR (family / random / unseen -> score): ${JSON.stringify(cv.table)}\n-> ${chosen.name} @ blend ${blend}\n`,
  );

  const epochBar = (label: string): ProgressBar => new ProgressBar(label, a.epochs);
  const diffBar = epochBar("difficulty head");
  const trained = trainDiff(chosen, [...fitDiff, ...(chosen.chatPrior === true ? chatDiff : [])], valDiff, {
    seed: a.seed,
    epochs: a.epochs,
    onEpoch: (e, tl, vl) => {
      diffBar.update(e, `loss ${tl.toFixed(4)} val ${vl.toFixed(4)}`);
    },
  });
  // Linear part of the difficulty column: the linear head itself, or (MLP) only the length prior.
  const diffHead: LinearHead =
    trained.kind === "linear"
      ? trained.head
      : { W: new Float32Array(F), b: new Float32Array(1), classes: 1, bestEpoch: trained.head.bestEpoch, valLoss: 0 };
  const mlpHead = trained.kind === "mlp" ? trained.head : undefined;
  // Fold the length prior into the head (standardised space): logit += blend * z(len_chars).
  diffHead.W[LEN_INDEX] = (diffHead.W[LEN_INDEX] ?? 0) + blend;
  const blendedSpec = diffSpec(chosen);
  if (blendedSpec.allowed !== undefined) blendedSpec.allowed[LEN_INDEX] = 1;
  const blendedProb = (r: DiffRow): number => {
    const lin = predictRow(diffHead, r.x, blendedSpec, F, DENSE_SIZE)[0] ?? 0.5;
    if (mlpHead === undefined) return lin;
    const z = Math.log(lin / (1 - lin)) + mlpLogit(mlpHead, r.dense);
    return 1 / (1 + Math.exp(-z));
  };

  // IRT item difficulties of the training prompts (all models above the score floor): the scale the calibrated
  // output is put on, so the router's quality model (b = -2 + 8 * difficulty) reads an item difficulty.
  const irtModels = [...modelMeans(fitRows.filter((r) => r.source === "llmrouter"))]
    .filter(([, m]) => m >= 0.3)
    .map(([k]) => k)
    .sort();
  const irtRows = trainAll.filter((r) => r.source === "llmrouter");
  const irt = fitIrt(irtRows, { ...DEFAULT_IRT, models: irtModels });
  const anchor = irtAnchor(irt);
  const irtById = new Map(irtRows.map((r, i) => [r.id, irtToUnit(irt.b[i] ?? 0, anchor)]));
  process.stderr.write(
    `IRT (2PL) on ${irtRows.length} prompts x ${irtModels.length} models: nll ${irt.nll.toFixed(4)}; theta ${irt.models
      .map((m, i) => `${m} ${(irt.theta[i] ?? 0).toFixed(2)}`)
      .join(", ")}\n`,
  );

  // Task/domain heads: benchmark or weak labels for data rows, plus template rows for labels the data lacks.
  const passages = fitRows.map((r) => r.prompt).filter((p) => p.length > 500 && !/there are \d+ houses/i.test(p));
  const synth = syntheticRows(260, passages, random);
  const nSynthVal = Math.round(synth.length * 0.15);
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
  const synthRows = synth.map((s) => toLabel(s.prompt, s.task, s.domain));
  // Few-shot wrappers: fit rows wrapped around fit prompts, validation rows around validation prompts.
  const shots = (rows: readonly UnifiedRow[], n: number): LabelRow[] =>
    fewShotRows(
      rows.map((r) => ({ prompt: r.prompt, ...labelRow(r.prompt, r.benchmark) })),
      n,
      random,
    ).map((s) => toLabel(s.prompt, s.task, s.domain));
  const fitLabels = [...labelled(fitRows), ...synthRows.slice(nSynthVal), ...shots(fitRows, FEW_SHOT_ROWS)];
  const valLabels = [
    ...labelled(valRows),
    ...synthRows.slice(0, nSynthVal),
    ...shots(valRows, Math.round(FEW_SHOT_ROWS * 0.15)),
  ];
  const heads: Record<"task" | "domain", LinearHead> = {} as Record<"task" | "domain", LinearHead>;
  const textHeadL2: Record<"task" | "domain", number> = { task: 0, domain: 0 };
  for (const kind of ["task", "domain"] as const) {
    // The hashed block can memorise 7k rows; its L2 is picked on validation loss.
    let best: LinearHead | undefined;
    for (const l2Hashed of LABEL_HEAD_L2) {
      const spec: HeadSpec = {
        kind: "softmax",
        classes: kind === "task" ? TASKS.length : DOMAINS.length,
        l2Dense: 1e-4,
        l2Hashed,
        useHashed: true,
      };
      const epochs = Math.min(a.epochs, 15);
      const b = new ProgressBar(`${kind} head (L2 ${l2Hashed})`, epochs);
      const head = trainHead(
        labelSet(fitLabels, kind),
        labelSet(valLabels, kind),
        spec,
        { featureCount: F, denseCount: DENSE_SIZE },
        {
          epochs,
          batchSize: 32,
          lr: 0.003,
          seed: a.seed + 1,
          onEpoch: (e, tl, vl) => {
            b.update(e, `loss ${tl.toFixed(4)} val ${vl.toFixed(4)}`);
          },
        },
      );
      b.update(epochs);
      if (best === undefined || head.valLoss < best.valLoss) {
        best = head;
        textHeadL2[kind] = l2Hashed;
      }
    }
    if (best !== undefined) heads[kind] = best;
  }

  // Calibration on the validation split (never on test): strictly increasing map from the blended head's probability
  // to the IRT item difficulty on the router's [0,1] scale (isotonic fit + a small ramp, so ranking is kept).
  const valCal = valDiff.filter((r) => irtById.has(r.row.id));
  // Chit-chat anchor (a stated prior, not measured): the synthetic chat templates join the calibration fit with the
  // difficulty of the easiest training prompt, so greetings and small talk read as easy on the absolute scale. The
  // table stays strictly increasing, so the ranking (and every APGR) is unchanged.
  const easiest = Math.min(...irtById.values());
  const valRaw = [...valCal, ...chatDiff].map(blendedProb);
  const calibration = strictlyIncreasing(
    isotonicTable(
      valRaw,
      [...valCal.map((r) => irtById.get(r.row.id) ?? 0), ...chatDiff.map(() => easiest)],
      valRaw.map(() => 1),
    ),
  );

  const { W, b } = combine({ diff: diffHead, task: heads.task, domain: heads.domain }, st);
  const bytes = encodeOnnxModel(
    analyzerModelSpec(
      DEFAULT_FEATURE_CONFIG,
      W,
      b,
      { "routewise.training_data_sha256": data.sha256 },
      { denseClip: denseClip(st), ...(mlpHead === undefined ? {} : { mlp: foldMlp(mlpHead, st) }) },
    ),
  );
  mkdirSync(a.out, { recursive: true });
  writeFileSync(join(a.out, "model.onnx"), bytes);
  const specs = analyzerTensorSpecs(DEFAULT_FEATURE_CONFIG);
  const metadata: ClassifierMetadata = {
    schema: METADATA_SCHEMA,
    modelFile: "model.onnx",
    modelSha256: createHash("sha256").update(bytes).digest("hex"),
    feature: DEFAULT_FEATURE_CONFIG,
    denseFeatureNames: [...DENSE_FEATURE_NAMES],
    inputs: specs.inputs,
    outputs: specs.outputs,
    labels: { task: [...TASKS], domain: [...DOMAINS] },
    calibration,
    training: {
      seed: a.seed,
      epochs: a.epochs,
      dataFile: "unified/routing_unified.jsonl",
      dataSha256: data.sha256,
      sources: a.includeRouterbench
        ? ["llmrouter (MIT)", "routerbench (no data licence; research only)"]
        : ["llmrouter (MIT)"],
      fitRows: fitRows.length,
      validationRows: valRows.length,
      syntheticLabelRows: synth.length,
      difficultyTarget:
        chosen.allPairsTarget === true
          ? "ranking: mean over all model pairs (stronger, weaker) of max(0, score_strong - score_weak); calibrated output: 2PL IRT item difficulty"
          : `ranking: mean over weaker models of max(0, score_strongest - score_weak), strongest = ${llmPairs[0]?.strong ?? "?"} (the best training model by mean score); calibrated output: 2PL IRT item difficulty`,
      irt: {
        kind: DEFAULT_IRT.kind,
        prompts: irtRows.length,
        models: Object.fromEntries(irt.models.map((m, i) => [m, { theta: irt.theta[i], a: irt.a[i] }])),
        nll: irt.nll,
        anchor: `median model ability -> declared score ${ANCHOR_SCORE}; difficulty = (b + shift + 2) / 8, shift ${anchor.toFixed(3)}`,
      },
      modelPairs: Object.fromEntries([...pairsBySource].map(([s, p]) => [s, p.map((x) => `${x.strong}>${x.weak}`)])),
      difficultyVariant: chosen.name,
      difficultyLengthBlend: blend,
      crossValidationApgr: cv.table,
      validationNote:
        "variant and blend picked on LLMRouter train folds (leave-one-family-out + random) and, as an unseen benchmark source, RouterBench's train split (scored only, never fitted)",
      difficultyBestEpoch: diffHead.bestEpoch,
      difficultyHead:
        mlpHead === undefined
          ? "linear"
          : `mean of ${MLP_OPTIONS.members} MLPs ${DENSE_SIZE}-${mlpHead.hidden / MLP_OPTIONS.members}-1 (ReLU, seeds ${a.seed} + 1000k; one ${DENSE_SIZE}-${mlpHead.hidden}-1 MLP in the graph) on the dense features, AdamW lr ${MLP_OPTIONS.lr}, weight decay ${MLP_OPTIONS.weightDecay}, ${MLP_OPTIONS.epochs} epochs max, early stop on validation loss`,
      chatPrior:
        chosen.chatPrior === true
          ? `${chatDiff.length} synthetic chit-chat prompts (scripts/train/synthetic.ts chat templates) as difficulty rows with target 0, weighted as one family`
          : "none",
      chatCalibrationAnchor: `${chatDiff.length} synthetic chit-chat prompts join the isotonic calibration fit with target ${easiest.toFixed(3)} (the easiest training prompt's IRT difficulty); ranking unchanged`,
      fewShotRows: `${FEW_SHOT_ROWS} few-shot wrappers (2-5 answered exemplars of the same task, then a training prompt with its own label) added to the task/domain training`,
      taskBestEpoch: heads.task.bestEpoch,
      labelHeadL2Hashed: textHeadL2,
      domainBestEpoch: heads.domain.bestEpoch,
      denseStandardization: { mean: Array.from(st.mean), std: Array.from(st.std), clip: DENSE_CLIP },
    },
    metrics: {},
  };
  writeFileSync(join(a.out, "metadata.json"), JSON.stringify(metadata, null, 2) + "\n");

  const metrics = await evaluate(a.out, data.rows, valCal, irtById);
  metadata.metrics = metrics;
  writeFileSync(join(a.out, "metadata.json"), JSON.stringify(metadata, null, 2) + "\n");
  writeModelCard(join(a.out, "MODEL_CARD.md"), metadata, bytes.length);
  process.stderr.write(
    `done in ${((Date.now() - started) / 1000).toFixed(1)} s; model ${(bytes.length / 1e6).toFixed(2)} MB -> ${a.out}\n`,
  );
  process.stdout.write(JSON.stringify(metrics["pairs"], null, 2) + "\n");
}

async function evaluate(
  dir: string,
  rows: readonly UnifiedRow[],
  valDiff: readonly DiffRow[],
  irtById: ReadonlyMap<string, number>,
): Promise<Record<string, unknown>> {
  const classifier = await OnnxClassifier.load({ modelDir: dir, cacheSize: 0 });
  const test = rows.filter((r) => r.split === "test" && usableForEval(r));
  const byId = await classifyAll(classifier, [...test, ...valDiff.map((d) => d.row)]);
  const of = (source: string, benchmark?: string): UnifiedRow[] =>
    test.filter((r) => r.source === source && (benchmark === undefined || r.benchmark === benchmark));
  const specs: EvalSpec[] = [
    {
      name: "RouterBench-subset test (ARC+MBPP+Winogrande)",
      rows: of("routerbench"),
      strong: "gpt-4-1106-preview",
      weak: "mistralai/mixtral-8x7b-chat",
    },
    {
      name: "RouterBench-subset test ARC-C",
      rows: of("routerbench", "arc-challenge"),
      strong: "gpt-4-1106-preview",
      weak: "mistralai/mixtral-8x7b-chat",
    },
    {
      name: "RouterBench-subset test MBPP",
      rows: of("routerbench", "mbpp"),
      strong: "gpt-4-1106-preview",
      weak: "mistralai/mixtral-8x7b-chat",
    },
    {
      name: "RouterBench-subset test Winogrande",
      rows: of("routerbench", "winogrande"),
      strong: "gpt-4-1106-preview",
      weak: "mistralai/mixtral-8x7b-chat",
    },
    {
      name: "RouterBench-subset test (all 3)",
      rows: of("routerbench"),
      strong: "gpt-4-1106-preview",
      weak: "gpt-3.5-turbo-1106",
    },
    {
      name: "RouterBench-subset test (all 3)",
      rows: of("routerbench"),
      strong: "gpt-4-1106-preview",
      weak: "meta/llama-2-70b-chat",
    },
    {
      name: "LLMRouter test",
      rows: of("llmrouter"),
      strong: "llama-3.1-nemotron-51b-instruct",
      weak: "qwen2.5-7b-instruct",
    },
    {
      name: "LLMRouter test",
      rows: of("llmrouter"),
      strong: "llama-3.1-nemotron-51b-instruct",
      weak: "llama-3.1-8b-instruct",
    },
    {
      name: "LLMRouter test",
      rows: of("llmrouter"),
      strong: "llama-3.1-nemotron-51b-instruct",
      weak: "mistral-7b-instruct-v0.3",
    },
    {
      name: "RouteProfile test (10 tasks)",
      rows: of("routeprofile"),
      strong: "llama-3.3-70b-instruct",
      weak: "llama-3.1-8b-instruct",
    },
    {
      name: "RouteProfile test (10 tasks)",
      rows: of("routeprofile"),
      strong: "llama-3.3-70b-instruct",
      weak: "qwen2.5-7b-instruct",
    },
  ];
  const pairs: PairResult[] = specs.map((s) => pairResult(s, byId));
  const valTargets = valDiff.map((d) => irtById.get(d.row.id) ?? 0);
  const valPred = valDiff.map((d) => byId.get(d.row.id)?.difficulty ?? 0);
  const mae = valPred.reduce((acc, p, i) => acc + Math.abs(p - (valTargets[i] ?? 0)), 0) / Math.max(1, valPred.length);
  return {
    pairs,
    labelsRouteProfileTest: labelAccuracy(of("routeprofile"), byId),
    labelsRouterBenchTest: labelAccuracy(of("routerbench"), byId),
    validationIrtDifficultyMae: mae,
  };
}

main().catch((err: unknown) => {
  process.stderr.write(`train failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
