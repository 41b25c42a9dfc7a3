/**
 * ONNX Runtime's outputs on the agreement probes, stored with the model (`probe-outputs.json` beside model.onnx),
 * so the router can check the JS evaluator at load without loading onnxruntime-node (its native session is ~40 MB
 * of resident memory per process). Written by the training pipeline and `npm run gen:analyzer-probes`
 * (analyzer/train/probe-file.ts), which run ONNX Runtime; a test asserts the shipped file is current.
 *
 * The file holds each probe's sparse input row and the reference outputs for it, and the SHA-256 of the model
 * bytes it was computed from: a file for other bytes, or one that does not parse, is not used (the classifier then
 * loads ONNX Runtime and compares there and then, as before).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isRecord } from "../config/json.js";
import type { RowOutputs } from "./analyzer-engine.js";
import { agreement, AGREEMENT_TOLERANCE, featureRow } from "./analyzer-engine.js";
import type { SparseFeatures } from "./featurize.js";
import type { SparseGraph, SparseVector } from "./sparse-graph.js";

export const PROBE_OUTPUTS_FILE = "probe-outputs.json";
export const PROBE_OUTPUTS_SCHEMA = "routewise.dev/analyzer-probe-outputs/v1";

/** One probe: the graph's sparse input row and ONNX Runtime's outputs for it. */
export interface StoredProbe {
  index: number[];
  value: number[];
  difficulty: number;
  taskProbs: number[];
  domainProbs: number[];
}

export interface ProbeOutputsFile {
  schema: typeof PROBE_OUTPUTS_SCHEMA;
  /** SHA-256 (hex) of the model.onnx bytes the outputs were computed from. */
  modelSha256: string;
  /** What computed the reference outputs (provenance only). */
  reference: string;
  width: number;
  probes: StoredProbe[];
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The file's content for the given probe rows and their reference outputs (same order). */
export function probeOutputsFile(
  bytes: Uint8Array,
  width: number,
  probes: readonly SparseFeatures[],
  outputs: readonly RowOutputs[],
  reference: string,
): ProbeOutputsFile {
  return {
    schema: PROBE_OUTPUTS_SCHEMA,
    modelSha256: sha256Hex(bytes),
    reference,
    width,
    probes: probes.map((f, i) => {
      const row = featureRow(f, width);
      const out = outputs[i];
      if (out === undefined) throw new Error(`no reference outputs for probe ${i}`);
      return {
        index: Array.from(row.index),
        value: Array.from(row.value),
        difficulty: out.difficulty,
        taskProbs: Array.from(out.taskProbs),
        domainProbs: Array.from(out.domainProbs),
      };
    }),
  };
}

const isNumbers = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === "number");

function parseProbe(v: unknown, i: number, width: number): StoredProbe {
  if (!isRecord(v)) throw new Error(`probes[${i}] is not an object`);
  const { index, value, difficulty, taskProbs, domainProbs } = v;
  if (!isNumbers(index) || !isNumbers(value) || index.length !== value.length)
    throw new Error(`probes[${i}]: index and value must be number arrays of one length`);
  if (index.some((j) => !Number.isInteger(j) || j < 0 || j >= width))
    throw new Error(`probes[${i}]: index out of range`);
  if (typeof difficulty !== "number" || !isNumbers(taskProbs) || !isNumbers(domainProbs))
    throw new Error(`probes[${i}]: difficulty, taskProbs and domainProbs must be numbers`);
  return { index, value, difficulty, taskProbs, domainProbs };
}

/** Parses the file's JSON; throws naming the first thing wrong. */
export function parseProbeOutputs(raw: unknown): ProbeOutputsFile {
  if (!isRecord(raw) || raw["schema"] !== PROBE_OUTPUTS_SCHEMA)
    throw new Error(`schema is not ${PROBE_OUTPUTS_SCHEMA}`);
  const { modelSha256, reference, width, probes } = raw;
  if (typeof modelSha256 !== "string" || typeof reference !== "string") throw new Error("modelSha256 is missing");
  if (typeof width !== "number" || !Number.isInteger(width) || width <= 0) throw new Error("width is missing");
  if (!Array.isArray(probes) || probes.length === 0) throw new Error("probes is empty");
  return {
    schema: PROBE_OUTPUTS_SCHEMA,
    modelSha256,
    reference,
    width,
    probes: probes.map((p, i) => parseProbe(p, i, width)),
  };
}

/** The stored probes as rows for `agreement` (float32, as the graph sees them). */
function referenceRows(file: ProbeOutputsFile): { input: SparseVector; reference: RowOutputs }[] {
  return file.probes.map((p) => ({
    input: { width: file.width, index: Int32Array.from(p.index), value: Float32Array.from(p.value) },
    reference: {
      difficulty: p.difficulty,
      taskProbs: Float32Array.from(p.taskProbs),
      domainProbs: Float32Array.from(p.domainProbs),
    },
  }));
}

/**
 * Checks the compiled graph against the outputs stored in `dir` for these model bytes: `ok` with the largest
 * difference when every output of every probe is within AGREEMENT_TOLERANCE, else why the stored outputs cannot
 * decide (missing, unreadable, for other bytes or another width, or a disagreement).
 */
export function checkStoredProbes(
  dir: string,
  bytes: Uint8Array,
  graph: SparseGraph,
): { ok: true; worst: number; probes: number } | { ok: false; reason: string } {
  const path = join(dir, PROBE_OUTPUTS_FILE);
  let file: ProbeOutputsFile;
  try {
    file = parseProbeOutputs(JSON.parse(readFileSync(path, "utf8")));
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    return { ok: false, reason: missing ? `no ${PROBE_OUTPUTS_FILE}` : `${path}: ${(err as Error).message}` };
  }
  if (file.modelSha256 !== sha256Hex(bytes))
    return { ok: false, reason: `${PROBE_OUTPUTS_FILE} was computed for other model bytes` };
  if (file.width !== graph.inputWidth)
    return { ok: false, reason: `${PROBE_OUTPUTS_FILE} has width ${file.width}, the graph ${graph.inputWidth}` };
  const result = agreement(graph, referenceRows(file));
  if (!result.ok)
    return {
      ok: false,
      reason: `the JS evaluator differs from the stored outputs by ${result.diff} (> ${AGREEMENT_TOLERANCE}) on probe ${result.row} of ${file.probes.length}`,
    };
  return { ok: true, worst: result.worst, probes: file.probes.length };
}
