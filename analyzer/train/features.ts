/**
 * Features stage: the serving featurizer (router/classify/featurize.ts, the same code the router runs), dense block
 * standardised on the fit rows and clipped; the standardisation is folded into the exported weights (export.ts).
 */
import { DEFAULT_FEATURE_CONFIG, DENSE_SIZE, featureSize, featurize } from "../../router/classify/featurize.js";
import type { DenseClip } from "../onnx/analyzer-graph.js";
import type { UnifiedRow } from "../eval/unified-rows.js";
import type { SparseRow } from "./linear.js";
import { ProgressBar } from "./progress.js";

/** Width of one feature vector (dense block + hashed block). */
export const F = featureSize(DEFAULT_FEATURE_CONFIG);

export interface Standardizer {
  mean: Float64Array;
  std: Float64Array;
}

export function fitStandardizer(vectors: readonly Float32Array[]): Standardizer {
  const mean = new Float64Array(DENSE_SIZE);
  const sq = new Float64Array(DENSE_SIZE);
  for (const v of vectors) for (let i = 0; i < DENSE_SIZE; i++) mean[i] = (mean[i] ?? 0) + (v[i] ?? 0) / vectors.length;
  for (const v of vectors)
    for (let i = 0; i < DENSE_SIZE; i++) sq[i] = (sq[i] ?? 0) + ((v[i] ?? 0) - (mean[i] ?? 0)) ** 2 / vectors.length;
  return { mean, std: sq.map((s) => Math.max(1e-3, Math.sqrt(s))) };
}

/**
 * Standardised dense features are clipped to ±DENSE_CLIP (in the exported graph too, see `denseClip`): beyond that
 * the training data says nothing, and unclipped a prompt unlike it (e.g. 25 few-shot exemplars when training had
 * none: z ≈ 1000) drives every head to an extreme.
 */
export const DENSE_CLIP = 5;

function clipZ(z: number): number {
  return Math.min(DENSE_CLIP, Math.max(-DENSE_CLIP, z));
}

/** The clip bounds in raw feature units, for the graph. */
export function denseClip(st: Standardizer): DenseClip {
  return {
    lo: Float32Array.from(st.mean, (m, i) => m - DENSE_CLIP * (st.std[i] ?? 1)),
    hi: Float32Array.from(st.mean, (m, i) => m + DENSE_CLIP * (st.std[i] ?? 1)),
  };
}

export function toSparse(v: Float32Array, st: Standardizer): SparseRow {
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const x = i < DENSE_SIZE ? clipZ(((v[i] ?? 0) - (st.mean[i] ?? 0)) / (st.std[i] ?? 1)) : (v[i] ?? 0);
    if (x !== 0) {
      idx.push(i);
      val.push(x);
    }
  }
  return { idx: Int32Array.from(idx), val: Float32Array.from(val) };
}

export function vectorOf(prompt: string): Float32Array {
  return featurize({ prompt, system: "", totalChars: prompt.length }, DEFAULT_FEATURE_CONFIG);
}

/** The dense block of a sparse row (the MLP's input). */
export function denseOf(x: SparseRow): Float32Array {
  const d = new Float32Array(DENSE_SIZE);
  for (let k = 0; k < x.idx.length; k++) {
    const i = x.idx[k] ?? 0;
    if (i < DENSE_SIZE) d[i] = x.val[k] ?? 0;
  }
  return d;
}

export interface Features {
  st: Standardizer;
  /** A training row's standardised sparse vector (featurized once, here). */
  sparse: (r: UnifiedRow) => SparseRow;
}

/** Featurizes the fit and validation rows once and fits the standardizer on the fit rows. */
export function featurizeSplit(fitRows: readonly UnifiedRow[], valRows: readonly UnifiedRow[]): Features {
  const bar = new ProgressBar("featurizing", fitRows.length + valRows.length);
  const vec = new Map<string, Float32Array>();
  [...fitRows, ...valRows].forEach((r, i) => {
    vec.set(r.id, vectorOf(r.prompt));
    if (i % 200 === 0 || i === fitRows.length + valRows.length - 1) bar.update(i + 1);
  });
  const st = fitStandardizer(fitRows.map((r) => vec.get(r.id) ?? new Float32Array(F)));
  return { st, sparse: (r) => toSparse(vec.get(r.id) ?? vectorOf(r.prompt), st) };
}
