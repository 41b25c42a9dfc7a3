import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { packageRoot } from "../config/package-root.js";
import type { Domain, Task } from "../config/types.js";
import { DOMAINS, TASKS } from "../config/types.js";
import { featureSize, featurizeInto, promptKey } from "./featurize.js";
import { LruCache } from "./lru.js";
import type { ClassifierMetadata, TensorSpec } from "./model-metadata.js";
import { ANALYZER_INPUT, applyCalibration, parseClassifierMetadata } from "./model-metadata.js";
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
}

interface LoadedModel {
  session: ort.InferenceSession;
  metadata: ClassifierMetadata;
}

/** One ORT session per model directory per process. */
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

/** Throws ModelMismatchError unless the graph's inputs/outputs are exactly what the metadata declares. */
export function validateSession(session: ort.InferenceSession, metadata: ClassifierMetadata, where: string): void {
  const checks: [string, TensorSpec[], TensorSpec[]][] = [
    ["inputs", metadata.inputs, sessionSpecs(session.inputMetadata)],
    ["outputs", metadata.outputs, sessionSpecs(session.outputMetadata)],
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

async function loadModel(dir: string): Promise<LoadedModel> {
  const metaPath = join(dir, "metadata.json");
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(metaPath, "utf8"));
  } catch (err) {
    throw new Error(`cannot read classifier metadata ${metaPath}: ${(err as Error).message}`, { cause: err });
  }
  const metadata = parseClassifierMetadata(raw, metaPath);
  const modelPath = join(dir, metadata.modelFile);
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  validateSession(session, metadata, modelPath);
  return { session, metadata };
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

function tensorData(result: ort.InferenceSession.ReturnType, name: string): Float32Array {
  const t = result[name];
  if (t === undefined || !(t.data instanceof Float32Array)) throw new Error(`model returned no float tensor "${name}"`);
  return t.data;
}

/** The built-in analyzer: featurize.ts + one small ONNX graph (difficulty, task and domain heads). */
export class OnnxClassifier implements Classifier {
  readonly name = "builtin-onnx";
  cacheHits = 0;
  cacheMisses = 0;
  private readonly cache: LruCache<string, Classification>;
  private readonly width: number;

  private constructor(
    private readonly model: LoadedModel,
    private readonly options: OnnxClassifierOptions,
  ) {
    this.cache = new LruCache(options.cacheSize ?? 10_000);
    this.width = featureSize(model.metadata.feature);
  }

  /** Loads (or reuses) the process-wide session for the model directory and validates it. */
  static async load(options: OnnxClassifierOptions = {}): Promise<OnnxClassifier> {
    const dir = options.modelDir ?? defaultModelDir();
    let pending = sessions.get(dir);
    if (pending === undefined) {
      pending = loadModel(dir);
      sessions.set(dir, pending);
      pending.catch(() => sessions.delete(dir));
    }
    return new OnnxClassifier(await pending, options);
  }

  get metadata(): ClassifierMetadata {
    return this.model.metadata;
  }

  async classify(input: ClassifyInput): Promise<Classification> {
    const key = promptKey(input);
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      this.cacheHits++;
      this.options.onCacheHit?.();
      return hit;
    }
    this.cacheMisses++;
    this.options.onCacheMiss?.();
    const [result] = await this.classifyUncached([input]);
    if (result === undefined) throw new Error("classifier returned no result");
    this.cache.set(key, result);
    return result;
  }

  /** Featurizes and runs a batch in one ORT call; bypasses the cache (offline use, benchmarks). */
  async classifyUncached(inputs: readonly ClassifyInput[]): Promise<Classification[]> {
    const n = inputs.length;
    if (n === 0) return [];
    const features = new Float32Array(n * this.width);
    inputs.forEach((input, i) => {
      featurizeInto(features.subarray(i * this.width, (i + 1) * this.width), input, this.model.metadata.feature);
    });
    const result = await this.model.session.run({
      [ANALYZER_INPUT]: new ort.Tensor("float32", features, [n, this.width]),
    });
    const difficulty = tensorData(result, "difficulty");
    const taskProbs = tensorData(result, "task_probs");
    const domainProbs = tensorData(result, "domain_probs");
    return inputs.map((_, i) => this.decode(difficulty[i] ?? 0.5, taskProbs, domainProbs, i));
  }

  private decode(rawDifficulty: number, taskProbs: Float32Array, domainProbs: Float32Array, i: number): Classification {
    const task = argmax(taskProbs, i * TASKS.length, TASKS.length);
    const domain = argmax(domainProbs, i * DOMAINS.length, DOMAINS.length);
    const difficulty = applyCalibration(this.model.metadata.calibration, rawDifficulty);
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
