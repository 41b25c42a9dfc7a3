/**
 * The two ways the built-in analyzer's graph runs, and which one a classifier uses (ADR 15):
 * - "js": sparse-graph.ts evaluates the graph synchronously on the sparse features (the common path);
 * - "ort": onnxruntime-node, the reference. Its run() answers in a later turn of the event loop, so concurrent
 *   rows are batched into one run (OrtBatcher).
 * At load both run on fixed probe inputs; the JS path is used only when every output agrees within
 * AGREEMENT_TOLERANCE, else the classifier keeps ONNX Runtime and says why.
 */
import * as ort from "onnxruntime-node";
import type { FeatureConfig, SparseFeatures } from "./featurize.js";
import { DENSE_SIZE, featureSize, featurizeSparse, prepareInput, scatter } from "./featurize.js";
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

/** Rows per session.run of the ORT fallback. */
const MAX_ORT_BATCH = 256;

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
  let nonZeroDense = 0;
  for (const v of f.dense) if (v !== 0) nonZeroDense++;
  const index = new Int32Array(nonZeroDense + f.slots.length);
  const value = new Float32Array(index.length);
  let n = 0;
  f.dense.forEach((v, j) => {
    if (v === 0) return;
    index[n] = j;
    value[n++] = v;
  });
  f.slots.forEach((slot, k) => {
    index[n] = DENSE_SIZE + slot;
    value[n++] = f.values[k] ?? 0;
  });
  return { width, index, value };
}

/** The JS path's outputs for one row, by name. */
export function runJs(graph: SparseGraph, f: SparseFeatures): RowOutputs {
  const outs = graph.run(featureRow(f, graph.inputWidth));
  const by = (name: string): Float32Array => outs[graph.outputNames.indexOf(name)] ?? new Float32Array(0);
  return { difficulty: by("difficulty")[0] ?? 0.5, taskProbs: by("task_probs"), domainProbs: by("domain_probs") };
}

function tensorData(result: ort.InferenceSession.ReturnType, name: string): Float32Array {
  const t = result[name];
  if (t === undefined || !(t.data instanceof Float32Array)) throw new Error(`model returned no float tensor "${name}"`);
  return t.data;
}

/** One session.run over several rows; the outputs split back per row. */
export async function runOrt(
  session: ort.InferenceSession,
  rows: readonly SparseFeatures[],
  width: number,
): Promise<RowOutputs[]> {
  const n = rows.length;
  if (n === 0) return [];
  const features = new Float32Array(n * width);
  rows.forEach((f, i) => {
    scatter(features.subarray(i * width, (i + 1) * width), f);
  });
  const result = await session.run({ [ANALYZER_INPUT]: new ort.Tensor("float32", features, [n, width]) });
  const difficulty = tensorData(result, "difficulty");
  const task = tensorData(result, "task_probs");
  const domain = tensorData(result, "domain_probs");
  const t = task.length / n;
  const d = domain.length / n;
  return rows.map((_, i) => ({
    difficulty: difficulty[i] ?? 0.5,
    taskProbs: task.subarray(i * t, (i + 1) * t),
    domainProbs: domain.subarray(i * d, (i + 1) * d),
  }));
}

interface Pending {
  features: SparseFeatures;
  resolve: (out: RowOutputs) => void;
  reject: (err: unknown) => void;
}

/**
 * The ORT fallback's queue: while one session.run is pending, the rows that arrive wait and then go into the
 * next run together (onnxruntime-node runs one session call at a time on the main thread; a batch of 32 costs
 * little more than one row).
 */
export class OrtBatcher {
  private queue: Pending[] = [];
  private running = false;
  /** session.run calls and the rows they carried (tests, the bench). */
  runs = 0;
  rows = 0;

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly width: number,
  ) {}

  submit(features: SparseFeatures): Promise<RowOutputs> {
    return new Promise((resolve, reject) => {
      this.queue.push({ features, resolve, reject });
      if (!this.running) {
        this.running = true;
        // A microtask: the rows submitted in this same turn join the first run.
        queueMicrotask(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, MAX_ORT_BATCH);
      this.runs++;
      this.rows += batch.length;
      try {
        const outs = await runOrt(
          this.session,
          batch.map((p) => p.features),
          this.width,
        );
        batch.forEach((p, i) => {
          p.resolve(outs[i] as RowOutputs);
        });
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.running = false;
  }
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
 * Chooses the engine for a loaded model: the JS path when the graph compiles and agrees with ORT on every probe,
 * else ORT with the reason. `bytes` are the .onnx file the session was created from.
 */
export async function chooseEngine(
  bytes: Uint8Array,
  session: ort.InferenceSession,
  config: FeatureConfig,
): Promise<{ choice: EngineChoice; graph: SparseGraph | null }> {
  const width = featureSize(config);
  let compiled;
  try {
    compiled = compileSparseGraph(readOnnxGraph(bytes), ANALYZER_INPUT, width);
  } catch (err) {
    return ortBecause(`the model could not be read for the JS evaluator: ${(err as Error).message}`);
  }
  if (!compiled.ok) return ortBecause(`the JS evaluator cannot run this graph: ${compiled.reason}`);
  const graph = compiled.graph;
  const missing = OUTPUT_NAMES.filter((n) => !graph.outputNames.includes(n));
  if (missing.length > 0) return ortBecause(`the graph has no output ${missing.join(", ")}`);
  const probes = probeFeatures(config);
  const reference = await runOrt(session, probes, width);
  let worst = 0;
  for (const [i, f] of probes.entries()) {
    const diff = outputsDiff(runJs(graph, f), reference[i] as RowOutputs);
    if (!(diff <= AGREEMENT_TOLERANCE))
      return ortBecause(
        `the JS evaluator differs from ONNX Runtime by ${diff} (> ${AGREEMENT_TOLERANCE}) on probe ${i} of ${probes.length}`,
      );
    worst = Math.max(worst, diff);
  }
  return {
    choice: {
      kind: "js",
      reason: `agrees with ONNX Runtime on ${probes.length} probes (max abs diff ${worst.toExponential(2)})`,
    },
    graph,
  };
}

function ortBecause(reason: string): { choice: EngineChoice; graph: null } {
  return { choice: { kind: "ort", reason }, graph: null };
}
