/**
 * Writes probe-outputs.json beside an analyzer model (router/classify/probe-outputs.ts): ONNX Runtime's outputs on
 * the agreement probes, so the router checks its JS evaluator at load without loading onnxruntime-node. Called by
 * the training pipeline after it writes model.onnx; `npm run gen:analyzer-probes [-- DIR]` rewrites it for an
 * existing model directory (default: the shipped model).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FeatureConfig } from "../../router/classify/featurize.js";
import { featureSize } from "../../router/classify/featurize.js";
import { ORT_REFERENCE, referenceProbeOutputs } from "../../router/classify/ort-engine.js";
import type { ProbeOutputsFile } from "../../router/classify/probe-outputs.js";
import { PROBE_OUTPUTS_FILE, probeOutputsFile } from "../../router/classify/probe-outputs.js";

/** The file's content for these model bytes and feature config, computed with ONNX Runtime. */
export async function computeProbeOutputs(bytes: Uint8Array, feature: FeatureConfig): Promise<ProbeOutputsFile> {
  const { probes, outputs } = await referenceProbeOutputs(bytes, feature);
  return probeOutputsFile(bytes, featureSize(feature), probes, outputs, ORT_REFERENCE);
}

/** Computes and writes `<dir>/probe-outputs.json` for `<dir>/<modelFile>`; returns the path. */
export async function writeProbeOutputs(dir: string, modelFile: string, feature: FeatureConfig): Promise<string> {
  const file = await computeProbeOutputs(readFileSync(join(dir, modelFile)), feature);
  const path = join(dir, PROBE_OUTPUTS_FILE);
  writeFileSync(path, JSON.stringify(file) + "\n");
  return path;
}
