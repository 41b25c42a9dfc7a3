/**
 * The two ways the built-in analyzer's graph runs, and which one a classifier uses (ADR 15):
 * - "js": sparse-graph.ts evaluates the graph synchronously on the sparse features (the common path);
 * - "ort": onnxruntime-node, the reference (ort-engine.ts). Its run() answers in a later turn of the event loop,
 *   so concurrent rows are batched into one run (OrtBatcher).
 * The JS path is used only when every output agrees within AGREEMENT_TOLERANCE with ONNX Runtime's on fixed probe
 * inputs: the outputs stored with the model (probe-outputs.ts, no ONNX Runtime at run time), else ONNX Runtime
 * loaded and run on the probes there and then; otherwise the classifier keeps ONNX Runtime and says why.
 * This module is the pure part: it never loads onnxruntime-node.
 */
import type { FeatureConfig, SparseFeatures } from "./featurize.js";
import { DENSE_SIZE, featurizeSparse, prepareInput } from "./featurize.js";
import { ANALYZER_INPUT } from "./model-metadata.js";
import { readOnnxGraph } from "./onnx-proto.js";
import type { SparseGraph, SparseVector } from "./sparse-graph.js";
import { compileSparseGraph } from "./sparse-graph.js";

export type EngineKind = "js" | "ort";

export interface EngineChoice {
  kind: EngineKind;
  /** Why: the agreement measured on the probes, or what kept the JS path out. */
  reason: string;
}

/** The analyzer's outputs for one row. */
export interface RowOutputs {
  difficulty: number;
  taskProbs: Float32Array;
  domainProbs: Float32Array;
}

/** Largest |JS - ORT| allowed on any output of any probe. */
export const AGREEMENT_TOLERANCE = 1e-5;

export const OUTPUT_NAMES = ["difficulty", "task_probs", "domain_probs"] as const;

/** Prompts the two paths must agree on: short and long, code, maths, few-shot, non-ASCII, empty. */
const PROBE_PROMPTS = [
  "",
  "hi",
  "What is the capital of France?",
  "Write a Python function that merges two sorted lists and explain its complexity.",
  "Solve for x: 3x^2 - 12x + 9 = 0. Show every step and check both roots.",
  "Summarize the following contract clause: the tenant shall give 60 days' notice before terminating the lease.",
  "Q: 2+2?\nA: 4\n\nQ: 17*23?\nA: 391\n\nQ: what is 12% of 250?\nA:",
  "The patient reports chest pain and shortness of breath; list the differential diagnoses.",
  "```ts\nexport function f(x: number): number {\n    return x * 2;\n}\n```\nWhy does this not compile?",
  "Traduis en français : « Le chat dort sur le canapé. » Größe, naïve café, 日本語, 🙂.",
  "Which is a metal?\nA) wood\nB) iron\nC) glass\nD) paper",
  "Write a sonnet about the sea at night. ".repeat(80),
];

/** The graph's sparse input row for one prompt's features. */
export function featureRow(f: SparseFeatures, width: number): SparseVector {
  const row = transientRow(f, width);
  return { width, index: row.index.slice(), value: row.value.slice() };
}

let rowIndex = new Int32Array(1024);
let rowValue = new Float32Array(1024);

/** featureRow in buffers the next call overwrites (no typed array allocated: see featurizeSparseTransient). */
function transientRow(f: SparseFeatures, width: number): SparseVector {
  const size = f.dense.length + f.slots.length;
  if (rowIndex.length < size) {
    rowIndex = new Int32Array(2 * size);
    rowValue = new Float32Array(2 * size);
  }
  let n = 0;
  for (let j = 0; j < f.dense.length; j++) {
    const v = f.dense[j] as number;
    if (v === 0) continue;
    rowIndex[n] = j;
    rowValue[n++] = v;
  }
  for (let k = 0; k < f.slots.length; k++) {
    rowIndex[n] = DENSE_SIZE + (f.slots[k] as number);
    rowValue[n++] = f.values[k] ?? 0;
  }
  return { width, index: rowIndex.subarray(0, n), value: rowValue.subarray(0, n) };
}

/** The JS path's outputs for one row, by name. */
export function runJs(graph: SparseGraph, f: SparseFeatures): RowOutputs {
  return runJsRow(graph, transientRow(f, graph.inputWidth));
}

/** The JS path's outputs for one sparse input row, by name. */
export function runJsRow(graph: SparseGraph, row: SparseVector): RowOutputs {
  const outs = graph.run(row);
  const by = (name: string): Float32Array => outs[graph.outputNames.indexOf(name)] ?? new Float32Array(0);
  return { difficulty: by("difficulty")[0] ?? 0.5, taskProbs: by("task_probs"), domainProbs: by("domain_probs") };
}

/** Probe rows: the probe prompts, an all-zero row, and dense values far outside any clip bounds. */
export function probeFeatures(config: FeatureConfig): SparseFeatures[] {
  const prompts = PROBE_PROMPTS.map((p) =>
    featurizeSparse(prepareInput({ prompt: p, system: "", totalChars: p.length }), config),
  );
  const hashed = 1 << config.hashBits;
  const extreme: SparseFeatures = {
    dense: Float32Array.from({ length: DENSE_SIZE }, (_, j) => (j % 2 === 0 ? 1e3 : -1e3)),
    slots: Int32Array.from([0, 1, hashed - 1]),
    values: Float32Array.from([0.5, -0.5, 0.7]),
  };
  const zero: SparseFeatures = {
    dense: new Float32Array(DENSE_SIZE),
    slots: new Int32Array(0),
    values: new Float32Array(0),
  };
  return [...prompts, zero, extreme];
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let max = 0;
  for (let j = 0; j < a.length; j++) {
    const d = Math.abs((a[j] ?? NaN) - (b[j] ?? NaN));
    // NaN on either side counts as a disagreement.
    if (!(d <= max)) max = Number.isNaN(d) ? Infinity : d;
  }
  return max;
}

/** The largest difference of any output of any row. */
export function outputsDiff(a: RowOutputs, b: RowOutputs): number {
  return Math.max(
    maxAbsDiff(Float32Array.of(a.difficulty), Float32Array.of(b.difficulty)),
    maxAbsDiff(a.taskProbs, b.taskProbs),
    maxAbsDiff(a.domainProbs, b.domainProbs),
  );
}

/**
 * The analyzer graph compiled for the JS evaluator, or why it cannot be (a model it cannot read, an op or attribute
 * it does not implement, a missing output).
 */
export function compileAnalyzer(
  bytes: Uint8Array,
  width: number,
): { ok: true; graph: SparseGraph } | { ok: false; reason: string } {
  let compiled;
  try {
    compiled = compileSparseGraph(readOnnxGraph(bytes), ANALYZER_INPUT, width);
  } catch (err) {
    return { ok: false, reason: `the model could not be read for the JS evaluator: ${(err as Error).message}` };
  }
  if (!compiled.ok) return { ok: false, reason: `the JS evaluator cannot run this graph: ${compiled.reason}` };
  const graph = compiled.graph;
  const missing = OUTPUT_NAMES.filter((n) => !graph.outputNames.includes(n));
  if (missing.length > 0) return { ok: false, reason: `the graph has no output ${missing.join(", ")}` };
  return { ok: true, graph };
}

/**
 * The largest difference between the JS path and reference outputs over the given rows, or the first row that
 * differs by more than AGREEMENT_TOLERANCE (NaN counts as a difference).
 */
export function agreement(
  graph: SparseGraph,
  rows: readonly { input: SparseVector; reference: RowOutputs }[],
): { ok: true; worst: number } | { ok: false; diff: number; row: number } {
  let worst = 0;
  for (const [i, r] of rows.entries()) {
    const diff = outputsDiff(runJsRow(graph, r.input), r.reference);
    if (!(diff <= AGREEMENT_TOLERANCE)) return { ok: false, diff, row: i };
    worst = Math.max(worst, diff);
  }
  return { ok: true, worst };
}
