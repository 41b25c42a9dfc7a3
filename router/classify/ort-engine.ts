/**
 * ONNX Runtime for the built-in analyzer (ADR 15): the reference the JS evaluator is checked against and the
 * fallback when it cannot be used. Loaded by dynamic import only when needed (onnx-classifier.ts): a model whose
 * stored probe outputs (probe-outputs.ts) agree with the JS evaluator never loads onnxruntime-node.
 */
import * as ort from "onnxruntime-node";
import type { EngineChoice, RowOutputs } from "./analyzer-engine.js";
import { agreement, AGREEMENT_TOLERANCE, compileAnalyzer, featureRow, probeFeatures } from "./analyzer-engine.js";
import type { FeatureConfig, SparseFeatures } from "./featurize.js";
import { featureSize, scatter } from "./featurize.js";
import { ANALYZER_INPUT } from "./model-metadata.js";
import type { SparseGraph } from "./sparse-graph.js";

/** Rows per session.run of the ORT fallback. */
const MAX_ORT_BATCH = 256;

/** The version that computed reference outputs (recorded in probe-outputs.json). */
export const ORT_REFERENCE = `onnxruntime-node ${ort.env.versions.node ?? "unknown"}`;

/** The analyzer's session: one thread, sequential, every graph optimisation. */
export function createSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
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

/**
 * Chooses the engine for a loaded model by running ONNX Runtime on the probes now: the JS path when the graph
 * compiles and agrees with ORT on every probe, else ORT with the reason. `bytes` are the .onnx file the session was
 * created from.
 */
export async function chooseEngine(
  bytes: Uint8Array,
  session: ort.InferenceSession,
  config: FeatureConfig,
): Promise<{ choice: EngineChoice; graph: SparseGraph | null }> {
  const width = featureSize(config);
  const compiled = compileAnalyzer(bytes, width);
  if (!compiled.ok) return ortBecause(compiled.reason);
  const graph = compiled.graph;
  const probes = probeFeatures(config);
  const reference = await runOrt(session, probes, width);
  const result = agreement(
    graph,
    probes.map((f, i) => ({ input: featureRow(f, width), reference: reference[i] as RowOutputs })),
  );
  if (!result.ok)
    return ortBecause(
      `the JS evaluator differs from ONNX Runtime by ${result.diff} (> ${AGREEMENT_TOLERANCE}) on probe ${result.row} of ${probes.length}`,
    );
  return {
    choice: {
      kind: "js",
      reason: `agrees with ONNX Runtime on ${probes.length} probes (max abs diff ${result.worst.toExponential(2)})`,
    },
    graph,
  };
}

function ortBecause(reason: string): { choice: EngineChoice; graph: null } {
  return { choice: { kind: "ort", reason }, graph: null };
}

/** ONNX Runtime's outputs on the probes of `config`, for probe-outputs.json. */
export async function referenceProbeOutputs(
  bytes: Uint8Array,
  config: FeatureConfig,
): Promise<{ probes: SparseFeatures[]; outputs: RowOutputs[] }> {
  const session = await createSession(bytes);
  try {
    const probes = probeFeatures(config);
    return { probes, outputs: await runOrt(session, probes, featureSize(config)) };
  } finally {
    await session.release();
  }
}
