import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DOMAINS, TASKS } from "../../router/config/types.js";
import { analyzerModelSpec, HEAD_WIDTH } from "./analyzer-graph.js";
import type { FeatureConfig } from "../../router/classify/featurize.js";
import { DEFAULT_FEATURE_CONFIG, DENSE_FEATURE_NAMES, featureSize } from "../../router/classify/featurize.js";
import type { ClassifierMetadata } from "../../router/classify/model-metadata.js";
import { analyzerTensorSpecs, METADATA_SCHEMA } from "../../router/classify/model-metadata.js";
import { encodeOnnxModel } from "./onnx-writer.js";

/**
 * Writes a small analyzer model (deterministic pseudo-random weights) and its metadata.json into `dir`, for tests
 * and demos that must not depend on the trained model. `edit` may break the metadata on purpose.
 */
export function writeTinyAnalyzer(
  dir: string,
  feature: FeatureConfig = { ...DEFAULT_FEATURE_CONFIG, hashBits: 8 },
  edit: (m: ClassifierMetadata) => void = () => undefined,
): ClassifierMetadata {
  mkdirSync(dir, { recursive: true });
  const f = featureSize(feature);
  const W = Float32Array.from({ length: f * HEAD_WIDTH }, (_, i) => Math.sin(i * 12.9898) * 0.5);
  const bytes = encodeOnnxModel(analyzerModelSpec(feature, W, new Float32Array(HEAD_WIDTH)));
  writeFileSync(join(dir, "model.onnx"), bytes);
  const specs = analyzerTensorSpecs(feature);
  const meta: ClassifierMetadata = {
    schema: METADATA_SCHEMA,
    modelFile: "model.onnx",
    modelSha256: createHash("sha256").update(bytes).digest("hex"),
    feature,
    denseFeatureNames: [...DENSE_FEATURE_NAMES],
    inputs: specs.inputs,
    outputs: specs.outputs,
    labels: { task: [...TASKS], domain: [...DOMAINS] },
    calibration: { kind: "isotonic", x: [0, 1], y: [0, 1] },
    training: {},
    metrics: {},
  };
  edit(meta);
  writeFileSync(join(dir, "metadata.json"), JSON.stringify(meta));
  return meta;
}
