import { DOMAINS, TASKS } from "../config/types.js";
import type { FeatureConfig } from "./featurize.js";
import { featureSize } from "./featurize.js";
import { ANALYZER_INPUT } from "./model-metadata.js";
import type { OnnxModelSpec } from "./onnx-writer.js";

/** Head layout of the analyzer's single weight matrix: column 0 difficulty, then tasks, then domains. */
export const HEAD_WIDTH = 1 + TASKS.length + DOMAINS.length;

/**
 * The analyzer graph: one Gemm over the feature vector (all heads share it), split into the three heads.
 * `weights` is row-major [featureSize, HEAD_WIDTH]; `bias` has HEAD_WIDTH values.
 */
export function analyzerModelSpec(
  feature: FeatureConfig,
  weights: Float32Array,
  bias: Float32Array,
  metadata: Record<string, string> = {},
): OnnxModelSpec {
  const f = featureSize(feature);
  return {
    graphName: "routewise_analyzer",
    producer: "routewise-train",
    metadata,
    initializers: [
      { name: "W", dims: [f, HEAD_WIDTH], data: weights },
      { name: "b", dims: [HEAD_WIDTH], data: bias },
      { name: "split", dims: [3], data: BigInt64Array.from([1n, BigInt(TASKS.length), BigInt(DOMAINS.length)]) },
    ],
    nodes: [
      { opType: "Gemm", inputs: [ANALYZER_INPUT, "W", "b"], outputs: ["logits"] },
      {
        opType: "Split",
        inputs: ["logits", "split"],
        outputs: ["difficulty_logit", "task_logits", "domain_logits"],
        attributes: [{ name: "axis", kind: "int", value: 1 }],
      },
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
