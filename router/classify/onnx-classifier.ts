import { readFileSync } from "node:fs";
import { join } from "node:path";
import type * as ort from "onnxruntime-node";
import { packageRoot } from "../config/package-root.js";
import type { Domain, Task } from "../config/types.js";
import { DOMAINS, TASKS } from "../config/types.js";
import type { EngineChoice, RowOutputs } from "./analyzer-engine.js";
import { compileAnalyzer, runJs } from "./analyzer-engine.js";
import type * as OrtEngine from "./ort-engine.js";
import { checkStoredProbes, PROBE_OUTPUTS_FILE } from "./probe-outputs.js";
import { readOnnxGraph } from "./onnx-proto.js";
import type { PreparedInput } from "./featurize.js";
import { featureSize, featurizeSparse, featurizeSparseTransient, prepareInput } from "./featurize.js";
import { LruCache } from "./lru.js";
import type { ClassifierMetadata, TensorSpec } from "./model-metadata.js";
import { ANALYZER_INPUT, applyCalibration, parseClassifierMetadata } from "./model-metadata.js";
import type { SparseGraph } from "./sparse-graph.js";
import type { Classification, Classifier, ClassifyInput } from "./types.js";

/** Directory of the model shipped with Routewise (written by `npm run train`). */
export function defaultModelDir(): string {
  return join(packageRoot(), "router", "classify", "models", "default");
}

export class ModelMismatchError extends Error {
  override readonly name = "ModelMismatchError";
}

export interface OnnxClassifierOptions {
  /** Directory holding metadata.json and the .onnx file it names. Default: the shipped model. */
  modelDir?: string;
  /** Max cached decisions (0 disables the cache). Default 10,000. */
  cacheSize?: number;
  onCacheHit?: () => void;
  onCacheMiss?: () => void;
  /**
   * "auto" (default): the synchronous JS evaluator when it agrees with ONNX Runtime at load (ADR 15), else ONNX
   * Runtime. "ort": always ONNX Runtime (the reference; benchmarks and tests).
   */
  engine?: "auto" | "ort";
  /** Told once per load which engine the classifier uses and why (the router logs it). */
  onEngine?: (choice: EngineChoice) => void;
}

/** ONNX Runtime, once loaded: the session and the module that runs it (ort-engine.ts, imported on demand). */
interface OrtRuntime {
  session: ort.InferenceSession;
  engine: typeof OrtEngine;
}

interface LoadedModel {
  metadata: ClassifierMetadata;
  /** The JS path's graph, when it agreed with ONNX Runtime on the probes. */
  graph: SparseGraph | null;
  choice: EngineChoice;
  /** Null when the stored probe outputs decided for the JS path: onnxruntime-node was never loaded. */
  ort: OrtRuntime | null;
}

/** One load (and at most one ORT session) per model directory and engine option per process. */
const sessions = new Map<string, Promise<LoadedModel>>();

function describe(specs: readonly { name: string; shape: readonly (number | string)[] }[]): string {
  return specs.map((s) => `${s.name}[${s.shape.join(",")}]`).join(", ");
}

function sessionSpecs(meta: readonly ort.InferenceSession.ValueMetadata[]): TensorSpec[] {
  return meta.map((m) => ({
    name: m.name,
    shape: m.isTensor ? [...m.shape] : [],
  }));
}

function sameShape(want: TensorSpec, got: TensorSpec): boolean {
  if (want.shape.length !== got.shape.length) return false;
  return want.shape.every((d, i) => typeof d === "string" || d === got.shape[i]);
}

/** Throws ModelMismatchError unless the session's inputs/outputs are exactly what the metadata declares. */
export function validateSession(session: ort.InferenceSession, metadata: ClassifierMetadata, where: string): void {
  validateSpecs(sessionSpecs(session.inputMetadata), sessionSpecs(session.outputMetadata), metadata, where);
}

/** The same check on the shapes the .onnx file declares (no session: the JS path loads none). */
function validateGraphSpecs(bytes: Uint8Array, metadata: ClassifierMetadata, where: string): void {
  const g = readOnnxGraph(bytes);
  const specs = (names: string[]): TensorSpec[] => names.map((name) => ({ name, shape: g.shapes.get(name) ?? [] }));
  validateSpecs(specs(g.inputs), specs(g.outputs), metadata, where);
}

function validateSpecs(inputs: TensorSpec[], outputs: TensorSpec[], metadata: ClassifierMetadata, where: string): void {
  const checks: [string, TensorSpec[], TensorSpec[]][] = [
    ["inputs", metadata.inputs, inputs],
    ["outputs", metadata.outputs, outputs],
  ];
  for (const [kind, want, got] of checks) {
    const ok = want.length === got.length && want.every((w) => got.some((g) => g.name === w.name && sameShape(w, g)));
    if (!ok) {
      throw new ModelMismatchError(
        `${where}: model ${kind} ${describe(got)} do not match metadata.json ${kind} ${describe(want)}`,
      );
    }
  }
  const input = metadata.inputs.find((i) => i.name === ANALYZER_INPUT);
  const width = featureSize(metadata.feature);
  if (input?.shape[1] !== width) {
    throw new ModelMismatchError(
      `${where}: input "${ANALYZER_INPUT}" must have ${width} features for this feature config`,
    );
  }
}

function readModel(dir: string): { metadata: ClassifierMetadata; bytes: Uint8Array; modelPath: string } {
  const metaPath = join(dir, "metadata.json");
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(metaPath, "utf8"));
  } catch (err) {
    throw new Error(`cannot read classifier metadata ${metaPath}: ${(err as Error).message}`, { cause: err });
  }
  const metadata = parseClassifierMetadata(raw, metaPath);
  const modelPath = join(dir, metadata.modelFile);
  try {
    return { metadata, bytes: readFileSync(modelPath), modelPath };
  } catch (err) {
    throw new Error(`cannot read classifier model ${modelPath}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The JS path from the outputs stored with the model (probe-outputs.json), without ONNX Runtime; or why not (the
 * caller then loads ONNX Runtime and compares on the spot).
 */
function fromStoredProbes(dir: string, bytes: Uint8Array, metadata: ClassifierMetadata): LoadedModel | string {
  const compiled = compileAnalyzer(bytes, featureSize(metadata.feature));
  if (!compiled.ok) return compiled.reason;
  const stored = checkStoredProbes(dir, bytes, compiled.graph);
  if (!stored.ok) return stored.reason;
  const reason =
    `agrees with ONNX Runtime on ${stored.probes} probes stored with the model ` +
    `(${PROBE_OUTPUTS_FILE}, max abs diff ${stored.worst.toExponential(2)}); ONNX Runtime not loaded`;
  return { metadata, graph: compiled.graph, choice: { kind: "js", reason }, ort: null };
}

async function loadModel(dir: string, engine: "auto" | "ort"): Promise<LoadedModel> {
  const { metadata, bytes, modelPath } = readModel(dir);
  let storedReason = "";
  if (engine === "auto") {
    validateGraphSpecs(bytes, metadata, modelPath);
    const stored = fromStoredProbes(dir, bytes, metadata);
    if (typeof stored !== "string") return stored;
    storedReason = stored;
  }
  // The same bytes feed the session and the JS evaluator, so both see one model.
  const ortEngine = await import("./ort-engine.js");
  const session = await ortEngine.createSession(bytes);
  validateSession(session, metadata, modelPath);
  const { choice, graph } = await ortEngine.chooseEngine(bytes, session, metadata.feature);
  // On the JS path, say why ONNX Runtime was loaded all the same; on ORT, the reason already says why not JS.
  const why =
    storedReason !== "" && choice.kind === "js"
      ? { ...choice, reason: `${choice.reason}; loaded ONNX Runtime: ${storedReason}` }
      : choice;
  return { metadata, graph, choice: why, ort: { session, engine: ortEngine } };
}

function argmax(values: Float32Array, offset: number, length: number): { index: number; p: number } {
  let index = 0;
  let p = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = values[offset + i] ?? -Infinity;
    if (v > p) {
      p = v;
      index = i;
    }
  }
  return { index, p };
}

/**
 * The built-in analyzer: featurize.ts + one small ONNX graph (difficulty, task and domain heads). classify() answers
 * synchronously on a cache hit and on the JS path (sparse-graph.ts); on the ORT fallback it returns a promise and
 * concurrent calls share one session.run.
 */
export class OnnxClassifier implements Classifier {
  readonly name = "builtin-onnx";
  cacheHits = 0;
  cacheMisses = 0;
  /** Which engine runs the graph, and why. */
  readonly engine: EngineChoice;
  private readonly cache: LruCache<string, Classification>;
  private readonly width: number;
  private readonly graph: SparseGraph | null;
  private readonly batcher: OrtEngine.OrtBatcher | null;

  private constructor(
    private readonly model: LoadedModel,
    private readonly options: OnnxClassifierOptions,
  ) {
    this.cache = new LruCache(options.cacheSize ?? 10_000);
    this.width = featureSize(model.metadata.feature);
    const forced = options.engine === "ort" && model.graph !== null;
    this.graph = forced ? null : model.graph;
    this.engine = forced ? { kind: "ort", reason: 'engine "ort" was asked for' } : model.choice;
    this.batcher = model.ort === null ? null : new model.ort.engine.OrtBatcher(model.ort.session, this.width);
  }

  /** Loads (or reuses) the process-wide session for the model directory and validates it. */
  static async load(options: OnnxClassifierOptions = {}): Promise<OnnxClassifier> {
    const dir = options.modelDir ?? defaultModelDir();
    const engine = options.engine ?? "auto";
    const key = `${engine}:${dir}`;
    let pending = sessions.get(key);
    if (pending === undefined) {
      pending = loadModel(dir, engine);
      sessions.set(key, pending);
      pending.catch(() => sessions.delete(key));
    }
    const classifier = new OnnxClassifier(await pending, options);
    options.onEngine?.(classifier.engine);
    return classifier;
  }

  get metadata(): ClassifierMetadata {
    return this.model.metadata;
  }

  /** The ORT fallback's session.run calls so far and the rows they carried (none on the JS path). */
  get ortRuns(): { runs: number; rows: number } {
    return { runs: this.batcher?.runs ?? 0, rows: this.batcher?.rows ?? 0 };
  }

  classify(input: ClassifyInput): Promise<Classification> | Classification {
    const prepared = prepareInput(input);
    const hit = this.cache.get(prepared.key);
    if (hit !== undefined) {
      this.cacheHits++;
      this.options.onCacheHit?.();
      return hit;
    }
    this.cacheMisses++;
    this.options.onCacheMiss?.();
    const config = this.model.metadata.feature;
    // The JS path reads the features at once, so they may stay in the featurizer's reused buffers.
    if (this.graph !== null)
      return this.remember(prepared, this.decode(runJs(this.graph, featurizeSparseTransient(prepared, config))));
    return this.ortBatcher()
      .submit(featurizeSparse(prepared, config))
      .then((out) => this.remember(prepared, this.decode(out)));
  }

  /** Classifies a batch, bypassing the cache (offline use, benchmarks): the JS path, or one ORT call. */
  async classifyUncached(inputs: readonly ClassifyInput[]): Promise<Classification[]> {
    const features = inputs.map((input) => featurizeSparse(prepareInput(input), this.model.metadata.feature));
    const graph = this.graph;
    const ortRuntime = this.model.ort;
    let outs: RowOutputs[];
    if (graph !== null) outs = features.map((f) => runJs(graph, f));
    else if (ortRuntime !== null) outs = await ortRuntime.engine.runOrt(ortRuntime.session, features, this.width);
    else throw new Error("the analyzer has neither the JS evaluator nor an ONNX Runtime session");
    return outs.map((out) => this.decode(out));
  }

  /** The ORT fallback's batcher: present whenever the JS path is not used (loadModel loads ORT then). */
  private ortBatcher(): OrtEngine.OrtBatcher {
    if (this.batcher === null) throw new Error("the analyzer has no ONNX Runtime session");
    return this.batcher;
  }

  private remember(prepared: PreparedInput, result: Classification): Classification {
    this.cache.set(prepared.key, result);
    return result;
  }

  private decode(out: RowOutputs): Classification {
    const task = argmax(out.taskProbs, 0, TASKS.length);
    const domain = argmax(out.domainProbs, 0, DOMAINS.length);
    const difficulty = applyCalibration(this.model.metadata.calibration, out.difficulty);
    return {
      task: TASKS[task.index] ?? ("chat" satisfies Task),
      domain: DOMAINS[domain.index] ?? ("general" satisfies Domain),
      difficulty: Math.min(1, Math.max(0, difficulty)),
      // How familiar the prompt looks to the model: both label heads must be sure of themselves.
      confidence: Math.min(1, Math.max(0, Math.sqrt(task.p * domain.p))),
      source: this.name,
    };
  }
}
