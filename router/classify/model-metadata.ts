import { DOMAINS, TASKS } from "../config/types.js";
import { isRecord } from "../config/json.js";
import type { FeatureConfig } from "./featurize.js";
import { DENSE_FEATURE_NAMES, featureSize } from "./featurize.js";

/** metadata.json next to the analyzer's model.onnx: what the runtime needs to feed and read the graph. */
export const METADATA_SCHEMA = "routewise.dev/classifier-metadata/v1";

export interface TensorSpec {
  name: string;
  /** Numbers are fixed dims; strings are symbolic (the batch dimension). */
  shape: (number | string)[];
}

export interface CalibrationTable {
  kind: "isotonic";
  /** Raw model probability breakpoints (ascending). */
  x: number[];
  /** Calibrated value at each breakpoint (non-decreasing); linear in between, clamped outside. */
  y: number[];
}

export interface ClassifierMetadata {
  schema: typeof METADATA_SCHEMA;
  modelFile: string;
  modelSha256: string;
  feature: FeatureConfig;
  denseFeatureNames: string[];
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  labels: { task: string[]; domain: string[] };
  calibration: CalibrationTable;
  /** Free-form provenance: seeds, data hash, sources, metrics. Not read by the runtime. */
  training: Record<string, unknown>;
  metrics: Record<string, unknown>;
}

export const ANALYZER_INPUT = "features";

/** The tensor contract of an analyzer graph for a given feature config. */
export function analyzerTensorSpecs(feature: FeatureConfig): { inputs: TensorSpec[]; outputs: TensorSpec[] } {
  return {
    inputs: [{ name: ANALYZER_INPUT, shape: ["batch", featureSize(feature)] }],
    outputs: [
      { name: "difficulty", shape: ["batch", 1] },
      { name: "task_probs", shape: ["batch", TASKS.length] },
      { name: "domain_probs", shape: ["batch", DOMAINS.length] },
    ],
  };
}

type Obj = Record<string, unknown>;

function field(o: Obj, key: string, where: string): unknown {
  if (!(key in o)) throw new Error(`${where}: missing field "${key}"`);
  return o[key];
}

function num(v: unknown, where: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`${where}: expected a finite number`);
  return v;
}

function str(v: unknown, where: string): string {
  if (typeof v !== "string") throw new Error(`${where}: expected a string`);
  return v;
}

function arr(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) throw new Error(`${where}: expected an array`);
  return v as unknown[];
}

function obj(v: unknown, where: string): Obj {
  if (!isRecord(v)) throw new Error(`${where}: expected an object`);
  return v;
}

function parseTensorSpecs(v: unknown, where: string): TensorSpec[] {
  return arr(v, where).map((t, i) => {
    const o = obj(t, `${where}[${i}]`);
    const shape = arr(field(o, "shape", `${where}[${i}]`), `${where}[${i}].shape`).map((d, j) =>
      typeof d === "string" ? d : num(d, `${where}[${i}].shape[${j}]`),
    );
    return { name: str(field(o, "name", `${where}[${i}]`), `${where}[${i}].name`), shape };
  });
}

function parseFeatureConfig(v: unknown, where: string): FeatureConfig {
  const o = obj(v, where);
  const version = num(field(o, "version", where), `${where}.version`);
  if (version !== 1) throw new Error(`${where}.version: unsupported feature config version ${version}`);
  const hashBits = num(field(o, "hashBits", where), `${where}.hashBits`);
  if (!Number.isInteger(hashBits) || hashBits < 4 || hashBits > 22) throw new Error(`${where}.hashBits out of range`);
  return {
    version: 1,
    hashBits,
    hashSeed: num(field(o, "hashSeed", where), `${where}.hashSeed`),
    headChars: num(field(o, "headChars", where), `${where}.headChars`),
    tailChars: num(field(o, "tailChars", where), `${where}.tailChars`),
    charWeight: num(field(o, "charWeight", where), `${where}.charWeight`),
  };
}

function parseCalibration(v: unknown, where: string): CalibrationTable {
  const o = obj(v, where);
  if (field(o, "kind", where) !== "isotonic") throw new Error(`${where}.kind: expected "isotonic"`);
  const x = arr(field(o, "x", where), `${where}.x`).map((n, i) => num(n, `${where}.x[${i}]`));
  const y = arr(field(o, "y", where), `${where}.y`).map((n, i) => num(n, `${where}.y[${i}]`));
  if (x.length === 0 || x.length !== y.length) throw new Error(`${where}: x and y must be non-empty and equally long`);
  return { kind: "isotonic", x, y };
}

function checkLabels(actual: string[], expected: readonly string[], where: string): void {
  if (actual.join(",") !== expected.join(",")) {
    throw new Error(`${where}: labels [${actual.join(", ")}] do not match this router's [${expected.join(", ")}]`);
  }
}

/** Validates parsed JSON (unknown) into metadata; throws naming the offending field. */
export function parseClassifierMetadata(raw: unknown, source: string): ClassifierMetadata {
  const o = obj(raw, source);
  if (o["schema"] !== METADATA_SCHEMA) throw new Error(`${source}: schema must be "${METADATA_SCHEMA}"`);
  const labels = obj(field(o, "labels", source), `${source}.labels`);
  const task = arr(field(labels, "task", source), `${source}.labels.task`).map((s, i) => str(s, `task[${i}]`));
  const domain = arr(field(labels, "domain", source), `${source}.labels.domain`).map((s, i) => str(s, `domain[${i}]`));
  checkLabels(task, TASKS, `${source}.labels.task`);
  checkLabels(domain, DOMAINS, `${source}.labels.domain`);
  const denseFeatureNames = arr(field(o, "denseFeatureNames", source), `${source}.denseFeatureNames`).map((s, i) =>
    str(s, `denseFeatureNames[${i}]`),
  );
  checkLabels(denseFeatureNames, DENSE_FEATURE_NAMES, `${source}.denseFeatureNames (featurizer version skew)`);
  return {
    schema: METADATA_SCHEMA,
    modelFile: str(field(o, "modelFile", source), `${source}.modelFile`),
    modelSha256: str(field(o, "modelSha256", source), `${source}.modelSha256`),
    feature: parseFeatureConfig(field(o, "feature", source), `${source}.feature`),
    denseFeatureNames,
    inputs: parseTensorSpecs(field(o, "inputs", source), `${source}.inputs`),
    outputs: parseTensorSpecs(field(o, "outputs", source), `${source}.outputs`),
    labels: { task, domain },
    calibration: parseCalibration(field(o, "calibration", source), `${source}.calibration`),
    training: obj(o["training"] ?? {}, `${source}.training`),
    metrics: obj(o["metrics"] ?? {}, `${source}.metrics`),
  };
}

/** Piecewise-linear interpolation through the isotonic table, clamped to its ends. */
// eslint-disable-next-line complexity -- a binary search; the `??` are index guards (noUncheckedIndexedAccess), not branches of logic
export function applyCalibration(table: CalibrationTable, p: number): number {
  const { x, y } = table;
  const n = x.length;
  if (p <= (x[0] ?? 0)) return y[0] ?? 0;
  if (p >= (x[n - 1] ?? 1)) return y[n - 1] ?? 1;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((x[mid] ?? 0) <= p) lo = mid;
    else hi = mid;
  }
  const x0 = x[lo] ?? 0;
  const x1 = x[hi] ?? 1;
  const y0 = y[lo] ?? 0;
  const y1 = y[hi] ?? 1;
  return x1 === x0 ? y1 : y0 + ((p - x0) / (x1 - x0)) * (y1 - y0);
}
