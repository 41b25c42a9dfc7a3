/**
 * Rewrites probe-outputs.json (ONNX Runtime's outputs on the analyzer's agreement probes) for a model directory:
 *
 *   npm run gen:analyzer-probes [-- router/classify/models/default]
 *
 * Run it after changing model.onnx by hand or the probe set in router/classify/analyzer-engine.ts (the training
 * pipeline writes it itself); router/classify/probe-outputs.test.ts fails while the shipped file is stale.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeProbeOutputs } from "../analyzer/onnx/probe-file.js";
import { parseClassifierMetadata } from "../router/classify/model-metadata.js";
import { defaultModelDir } from "../router/classify/onnx-classifier.js";

const dir = process.argv[2] ?? defaultModelDir();
const metaPath = join(dir, "metadata.json");
const metadata = parseClassifierMetadata(JSON.parse(readFileSync(metaPath, "utf8")), metaPath);
const path = await writeProbeOutputs(dir, metadata.modelFile, metadata.feature);
process.stderr.write(`Wrote ${path}\n`);
