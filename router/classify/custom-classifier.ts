import { readFileSync } from "node:fs";
import { join } from "node:path";
import type * as ort from "onnxruntime-node";
import { isRecord } from "../config/json.js";
import { DOMAINS, TASKS } from "../config/types.js";
import { LruCache } from "./lru.js";
import { promptKey } from "./featurize.js";
import type { Classification, Classifier, ClassifyInput } from "./types.js";
import { WordPieceTokenizer } from "./wordpiece.js";

/**
 * A user's own ONNX classifier (e.g. a fine-tuned DistilBERT) mounted as a directory with:
 * - routewise-classifier.json: {"model": "model.onnx", "vocab": "vocab.txt", "lowercase": true, "maxLength": 256,
 *   "difficulty": {"output": "logits", "index": 1, "activation": "softmax"|"sigmoid"|"none"},
 *   "task"?: {"output": "task_logits"}, "domain"?: {"output": "domain_logits"}}
 * - the model: inputs input_ids and attention_mask (int64 [batch, seq]; token_type_ids optional), outputs as named.
 * Task/domain outputs, when present, must have one logit per label in router/config/types.ts order.
 */
export const CUSTOM_CONFIG_FILE = "routewise-classifier.json";

export interface CustomConfig {
  model: string;
  vocab: string;
  lowercase: boolean;
  maxLength: number;
  difficulty: { output: string; index: number; activation: "softmax" | "sigmoid" | "none" };
  task: { output: string } | null;
  domain: { output: string } | null;
}

export class CustomModelError extends Error {
  override readonly name = "CustomModelError";
}

function head(v: unknown, where: string): { output: string } | null {
  if (v === undefined || v === null) return null;
  if (!isRecord(v) || typeof v["output"] !== "string")
    throw new CustomModelError(`${where}: expected {"output": "<name>"}`);
  return { output: v["output"] };
}

export function parseCustomConfig(raw: unknown, where: string): CustomConfig {
  if (!isRecord(raw)) throw new CustomModelError(`${where}: expected a JSON object`);
  return {
    model: typeof raw["model"] === "string" ? raw["model"] : "model.onnx",
    vocab: typeof raw["vocab"] === "string" ? raw["vocab"] : "vocab.txt",
    lowercase: raw["lowercase"] !== false,
    maxLength: parseMaxLength(raw["maxLength"] ?? 256, where),
    difficulty: parseDifficulty(raw["difficulty"], where),
    task: head(raw["task"], `${where}.task`),
    domain: head(raw["domain"], `${where}.domain`),
  };
}

function parseDifficulty(d: unknown, where: string): CustomConfig["difficulty"] {
  if (!isRecord(d) || typeof d["output"] !== "string")
    throw new CustomModelError(`${where}: "difficulty.output" is required`);
  const activation = parseActivation(d["activation"] ?? "sigmoid", where);
  const index = d["index"] ?? 0;
  if (typeof index !== "number" || !Number.isInteger(index) || index < 0)
    throw new CustomModelError(`${where}: difficulty.index must be a non-negative integer`);
  return { output: d["output"], index, activation };
}

function parseActivation(activation: unknown, where: string): CustomConfig["difficulty"]["activation"] {
  if (activation !== "softmax" && activation !== "sigmoid" && activation !== "none") {
    throw new CustomModelError(`${where}: difficulty.activation must be softmax, sigmoid or none`);
  }
  return activation;
}

function parseMaxLength(maxLength: unknown, where: string): number {
  if (typeof maxLength !== "number" || !Number.isInteger(maxLength) || maxLength < 2 || maxLength > 8192) {
    throw new CustomModelError(`${where}: maxLength must be an integer in [2, 8192]`);
  }
  return maxLength;
}

function checkInputs(session: ort.InferenceSession, path: string): void {
  const names = session.inputNames;
  for (const required of ["input_ids", "attention_mask"]) {
    if (!names.includes(required))
      throw new CustomModelError(`${path}: model has inputs [${names.join(", ")}], needs "${required}"`);
  }
  const extra = names.filter((n) => !["input_ids", "attention_mask", "token_type_ids"].includes(n));
  if (extra.length > 0) throw new CustomModelError(`${path}: unsupported model inputs [${extra.join(", ")}]`);
  for (const m of session.inputMetadata) {
    if (m.isTensor && m.type !== "int64")
      throw new CustomModelError(`${path}: input "${m.name}" is ${m.type}, expected int64`);
  }
}

function checkOutput(session: ort.InferenceSession, path: string, name: string, width: number | null): void {
  const meta = session.outputMetadata.find((m) => m.name === name);
  if (meta === undefined)
    throw new CustomModelError(
      `${path}: model has outputs [${session.outputNames.join(", ")}], config names "${name}"`,
    );
  if (!meta.isTensor || meta.type !== "float32")
    throw new CustomModelError(`${path}: output "${name}" must be a float32 tensor`);
  const last = meta.shape[meta.shape.length - 1];
  if (width !== null && typeof last === "number" && last !== width) {
    throw new CustomModelError(`${path}: output "${name}" has ${last} values per row, expected ${width}`);
  }
}

function softmaxAt(values: Float32Array, index: number): number {
  const max = Math.max(...values);
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return Math.exp((values[index] ?? -Infinity) - max) / sum;
}

function argmaxProb(values: Float32Array | undefined): { index: number; p: number } {
  if (values === undefined || values.length === 0) return { index: 0, p: 1 };
  let index = 0;
  values.forEach((v, i) => {
    if (v > (values[index] ?? -Infinity)) index = i;
  });
  return { index, p: softmaxAt(values, index) };
}

export class CustomClassifier implements Classifier {
  readonly name = "custom";
  cacheHits = 0;
  cacheMisses = 0;
  private readonly cache: LruCache<string, Classification>;

  private constructor(
    /** onnxruntime-node, imported when the first custom model loads (a router without one never loads it). */
    private readonly runtime: typeof ort,
    private readonly session: ort.InferenceSession,
    private readonly tokenizer: WordPieceTokenizer,
    private readonly config: CustomConfig,
    cacheSize: number,
  ) {
    this.cache = new LruCache(cacheSize);
  }

  /** Loads and validates a mounted model directory; throws CustomModelError with the file and the problem. */
  static async load(dir: string, cacheSize = 10_000): Promise<CustomClassifier> {
    const configPath = join(dir, CUSTOM_CONFIG_FILE);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(configPath, "utf8"));
    } catch (err) {
      throw new CustomModelError(`cannot read ${configPath}: ${(err as Error).message}`);
    }
    const config = parseCustomConfig(raw, configPath);
    let vocab: string;
    try {
      vocab = readFileSync(join(dir, config.vocab), "utf8");
    } catch (err) {
      throw new CustomModelError(`cannot read vocab ${join(dir, config.vocab)}: ${(err as Error).message}`);
    }
    const tokenizer = new WordPieceTokenizer(vocab, { lowercase: config.lowercase, maxLength: config.maxLength });
    const modelPath = join(dir, config.model);
    const runtime = await import("onnxruntime-node");
    let session: ort.InferenceSession;
    try {
      session = await runtime.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    } catch (err) {
      throw new CustomModelError(`cannot load ONNX model ${modelPath}: ${(err as Error).message}`);
    }
    checkInputs(session, modelPath);
    checkOutput(session, modelPath, config.difficulty.output, null);
    if (config.task !== null) checkOutput(session, modelPath, config.task.output, TASKS.length);
    if (config.domain !== null) checkOutput(session, modelPath, config.domain.output, DOMAINS.length);
    return new CustomClassifier(runtime, session, tokenizer, config, cacheSize);
  }

  /** A cache hit answers synchronously; a miss runs the model on ONNX Runtime (a later turn of the event loop). */
  classify(input: ClassifyInput): Promise<Classification> | Classification {
    const key = promptKey(input);
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      this.cacheHits++;
      return hit;
    }
    this.cacheMisses++;
    return this.run(input.prompt).then((result) => {
      this.cache.set(key, result);
      return result;
    });
  }

  private async run(text: string): Promise<Classification> {
    const enc = this.tokenizer.encode(text);
    const dims = [1, enc.inputIds.length];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new this.runtime.Tensor("int64", enc.inputIds, dims),
      attention_mask: new this.runtime.Tensor("int64", enc.attentionMask, dims),
    };
    if (this.session.inputNames.includes("token_type_ids"))
      feeds["token_type_ids"] = new this.runtime.Tensor("int64", enc.tokenTypeIds, dims);
    const out = await this.session.run(feeds);
    const data = (name: string): Float32Array | undefined => {
      const t = out[name];
      return t !== undefined && t.data instanceof Float32Array ? t.data : undefined;
    };
    const d = data(this.config.difficulty.output) ?? new Float32Array([0]);
    const { index, activation } = this.config.difficulty;
    const rawValue = d[index] ?? 0;
    const difficulty =
      activation === "softmax"
        ? softmaxAt(d, index)
        : activation === "sigmoid"
          ? 1 / (1 + Math.exp(-rawValue))
          : rawValue;
    const task = argmaxProb(this.config.task === null ? undefined : data(this.config.task.output));
    const domain = argmaxProb(this.config.domain === null ? undefined : data(this.config.domain.output));
    const p = Math.min(1, Math.max(0, difficulty));
    return {
      task: TASKS[task.index] ?? "chat",
      domain: DOMAINS[domain.index] ?? "general",
      difficulty: p,
      confidence: Math.abs(2 * p - 1),
      source: this.name,
    };
  }
}
