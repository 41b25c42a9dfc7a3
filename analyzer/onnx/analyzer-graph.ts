import { DOMAINS, TASKS } from "../../router/config/types.js";
import type { FeatureConfig } from "../../router/classify/featurize.js";
import { featureSize } from "../../router/classify/featurize.js";
import { ANALYZER_INPUT } from "../../router/classify/model-metadata.js";
import type { OnnxModelSpec, OnnxNode, OnnxTensor } from "./onnx-writer.js";

/** Head layout of the analyzer's single weight matrix: column 0 difficulty, then tasks, then domains. */
export const HEAD_WIDTH = 1 + TASKS.length + DOMAINS.length;

/**
 * Optional one-hidden-layer MLP on the dense block (the first `inputs` features) whose output logit is added to the
 * linear difficulty logit: difficulty = sigmoid(linear + W2 · relu(W1 · dense + b1) + b2).
 */
export interface DifficultyMlp {
  inputs: number;
  hidden: number;
  /** Row-major [inputs, hidden]. */
  W1: Float32Array;
  b1: Float32Array;
  /** [hidden, 1]. */
  W2: Float32Array;
  b2: number;
}

/**
 * Per-feature bounds for the dense block, in raw feature units (training mean ± k·std). Values outside are clipped
 * before any head sees them, so prompts unlike the training data (e.g. a 25-shot prompt when training had none) stay
 * in the range the heads were fitted on instead of extrapolating.
 */
export interface DenseClip {
  lo: Float32Array;
  hi: Float32Array;
}

export interface AnalyzerExtras {
  mlp?: DifficultyMlp;
  denseClip?: DenseClip;
}

const slice = (name: string, from: number, to: number): OnnxTensor[] => [
  { name: `${name}_starts`, dims: [1], data: BigInt64Array.from([BigInt(from)]) },
  { name: `${name}_ends`, dims: [1], data: BigInt64Array.from([BigInt(to)]) },
  { name: `${name}_axes`, dims: [1], data: BigInt64Array.from([1n]) },
];

const sliceNode = (name: string, output: string): OnnxNode => ({
  opType: "Slice",
  inputs: [ANALYZER_INPUT, `${name}_starts`, `${name}_ends`, `${name}_axes`],
  outputs: [output],
});

/** Clip the dense block (Max/Min with per-feature bounds) and concatenate the hashed block back: "clipped_features". */
function clipPart(clip: DenseClip, dense: number, total: number): { initializers: OnnxTensor[]; nodes: OnnxNode[] } {
  return {
    initializers: [
      ...slice("dense", 0, dense),
      ...slice("hashed", dense, total),
      { name: "dense_lo", dims: [dense], data: clip.lo },
      { name: "dense_hi", dims: [dense], data: clip.hi },
    ],
    nodes: [
      sliceNode("dense", "dense_raw"),
      sliceNode("hashed", "hashed"),
      { opType: "Max", inputs: ["dense_raw", "dense_lo"], outputs: ["dense_floor"] },
      { opType: "Min", inputs: ["dense_floor", "dense_hi"], outputs: ["dense"] },
      {
        opType: "Concat",
        inputs: ["dense", "hashed"],
        outputs: ["clipped_features"],
        attributes: [{ name: "axis", kind: "int", value: 1 }],
      },
    ],
  };
}

/** The MLP reads "dense" (the clipped block) when clipping is on, else slices it from the input. */
function mlpPart(mlp: DifficultyMlp, clipped: boolean): { initializers: OnnxTensor[]; nodes: OnnxNode[] } {
  return {
    initializers: [
      ...(clipped ? [] : slice("dense", 0, mlp.inputs)),
      { name: "W1", dims: [mlp.inputs, mlp.hidden], data: mlp.W1 },
      { name: "b1", dims: [mlp.hidden], data: mlp.b1 },
      { name: "W2", dims: [mlp.hidden, 1], data: mlp.W2 },
      { name: "b2", dims: [1], data: Float32Array.from([mlp.b2]) },
    ],
    nodes: [
      ...(clipped ? [] : [sliceNode("dense", "dense")]),
      { opType: "Gemm", inputs: ["dense", "W1", "b1"], outputs: ["hidden_pre"] },
      { opType: "Relu", inputs: ["hidden_pre"], outputs: ["hidden"] },
      { opType: "Gemm", inputs: ["hidden", "W2", "b2"], outputs: ["mlp_logit"] },
      { opType: "Add", inputs: ["linear_difficulty_logit", "mlp_logit"], outputs: ["difficulty_logit"] },
    ],
  };
}

/**
 * The analyzer graph: one Gemm over the feature vector (all heads share it), split into the three heads, plus an
 * optional MLP difficulty head on the dense features and optional clipping of the dense block. `weights` is
 * row-major [featureSize, HEAD_WIDTH]; `bias` has HEAD_WIDTH values.
 */
export function analyzerModelSpec(
  feature: FeatureConfig,
  weights: Float32Array,
  bias: Float32Array,
  metadata: Record<string, string> = {},
  extras: AnalyzerExtras = {},
): OnnxModelSpec {
  const f = featureSize(feature);
  const { mlp, denseClip } = extras;
  const clip = denseClip === undefined ? { initializers: [], nodes: [] } : clipPart(denseClip, denseClip.lo.length, f);
  const head = mlp === undefined ? { initializers: [], nodes: [] } : mlpPart(mlp, denseClip !== undefined);
  return {
    graphName: "routewise_analyzer",
    producer: "routewise-train",
    metadata,
    initializers: [
      { name: "W", dims: [f, HEAD_WIDTH], data: weights },
      { name: "b", dims: [HEAD_WIDTH], data: bias },
      { name: "split", dims: [3], data: BigInt64Array.from([1n, BigInt(TASKS.length), BigInt(DOMAINS.length)]) },
      ...clip.initializers,
      ...head.initializers,
    ],
    nodes: [
      ...clip.nodes,
      {
        opType: "Gemm",
        inputs: [denseClip === undefined ? ANALYZER_INPUT : "clipped_features", "W", "b"],
        outputs: ["logits"],
      },
      {
        opType: "Split",
        inputs: ["logits", "split"],
        outputs: [mlp === undefined ? "difficulty_logit" : "linear_difficulty_logit", "task_logits", "domain_logits"],
        attributes: [{ name: "axis", kind: "int", value: 1 }],
      },
      ...head.nodes,
      { opType: "Sigmoid", inputs: ["difficulty_logit"], outputs: ["difficulty"] },
      {
        opType: "Softmax",
        inputs: ["task_logits"],
        outputs: ["task_probs"],
        attributes: [{ name: "axis", kind: "int", value: 1 }],
      },
      {
        opType: "Softmax",
        inputs: ["domain_logits"],
        outputs: ["domain_probs"],
        attributes: [{ name: "axis", kind: "int", value: 1 }],
      },
    ],
    inputs: [{ name: ANALYZER_INPUT, elemType: "float", shape: ["batch", f] }],
    outputs: [
      { name: "difficulty", elemType: "float", shape: ["batch", 1] },
      { name: "task_probs", elemType: "float", shape: ["batch", TASKS.length] },
      { name: "domain_probs", elemType: "float", shape: ["batch", DOMAINS.length] },
    ],
  };
}
