import { rng, shuffleInPlace } from "./rng.js";

/** One feature vector in sparse form (only non-zero slots). */
export interface SparseRow {
  idx: Int32Array;
  val: Float32Array;
}

export interface HeadSpec {
  kind: "binary" | "softmax";
  classes: number;
  /** L2 strength on the dense (hand-made) features. */
  l2Dense: number;
  /** L2 strength on the hashed n-gram features. */
  l2Hashed: number;
  /** When false the head ignores the hashed block (its weights stay 0). */
  useHashed: boolean;
  /** When set, only features i with allowed[i] === 1 are used. */
  allowed?: Uint8Array;
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  onEpoch?: (epoch: number, trainLoss: number, valLoss: number) => void;
}

export interface LabelledSet {
  rows: readonly SparseRow[];
  /** rows.length x classes soft targets (binary: one value per row). */
  targets: Float32Array;
  /** Per-row weight. */
  weights: Float32Array;
}

export interface LinearHead {
  /** featureCount x classes, row-major. */
  W: Float32Array;
  b: Float32Array;
  classes: number;
  bestEpoch: number;
  valLoss: number;
}

/** Whether feature i takes part in a head: inside its block and, when the head is restricted, allowed. */
function usable(i: number, maxIdx: number, allowed: Uint8Array | undefined): boolean {
  return i < maxIdx && (allowed === undefined || allowed[i] === 1);
}

function logits(
  head: { W: Float32Array; b: Float32Array; allowed?: Uint8Array | undefined },
  row: SparseRow,
  classes: number,
  maxIdx: number,
  out: Float64Array,
): void {
  const { W, b, allowed } = head;
  for (let c = 0; c < classes; c++) out[c] = b[c] ?? 0;
  for (let k = 0; k < row.idx.length; k++) {
    const i = row.idx[k] ?? 0;
    if (!usable(i, maxIdx, allowed)) continue;
    const v = row.val[k] ?? 0;
    const base = i * classes;
    for (let c = 0; c < classes; c++) out[c] = (out[c] ?? 0) + v * (W[base + c] ?? 0);
  }
}

/** Turns logits into probabilities in place; returns nothing. */
function activate(z: Float64Array, kind: HeadSpec["kind"], classes: number): void {
  if (kind === "binary") {
    z[0] = 1 / (1 + Math.exp(-(z[0] ?? 0)));
    return;
  }
  let max = -Infinity;
  for (let c = 0; c < classes; c++) max = Math.max(max, z[c] ?? 0);
  let sum = 0;
  for (let c = 0; c < classes; c++) {
    const e = Math.exp((z[c] ?? 0) - max);
    z[c] = e;
    sum += e;
  }
  for (let c = 0; c < classes; c++) z[c] = (z[c] ?? 0) / sum;
}

function rowLoss(p: Float64Array, t: Float32Array, offset: number, spec: HeadSpec): number {
  const eps = 1e-7;
  if (spec.kind === "binary") {
    const y = t[offset] ?? 0;
    const q = Math.min(1 - eps, Math.max(eps, p[0] ?? 0.5));
    return -(y * Math.log(q) + (1 - y) * Math.log(1 - q));
  }
  let loss = 0;
  for (let c = 0; c < spec.classes; c++) loss -= (t[offset + c] ?? 0) * Math.log(Math.max(eps, p[c] ?? 0));
  return loss;
}

/** Weighted mean loss of a head on a set. */
export function setLoss(
  head: LinearHead,
  set: LabelledSet,
  spec: HeadSpec,
  featureCount: number,
  denseCount: number,
): number {
  const z = new Float64Array(spec.classes);
  const maxIdx = spec.useHashed ? featureCount : denseCount;
  let total = 0;
  let weight = 0;
  set.rows.forEach((row, r) => {
    logits({ W: head.W, b: head.b, allowed: spec.allowed }, row, spec.classes, maxIdx, z);
    activate(z, spec.kind, spec.classes);
    const w = set.weights[r] ?? 0;
    total += w * rowLoss(z, set.targets, r * spec.classes, spec);
    weight += w;
  });
  return weight === 0 ? 0 : total / weight;
}

/** Probabilities of a head for one row (binary: [p]). */
export function predictRow(
  head: LinearHead,
  row: SparseRow,
  spec: HeadSpec,
  featureCount: number,
  denseCount: number,
): number[] {
  const z = new Float64Array(spec.classes);
  logits(
    { W: head.W, b: head.b, allowed: spec.allowed },
    row,
    spec.classes,
    spec.useHashed ? featureCount : denseCount,
    z,
  );
  activate(z, spec.kind, spec.classes);
  return Array.from(z);
}

interface AdamState {
  m: Float32Array;
  v: Float32Array;
  mb: Float32Array;
  vb: Float32Array;
  t: number;
}

function adamStep(head: LinearHead, g: Float32Array, gb: Float32Array, s: AdamState, lr: number): void {
  const b1 = 0.9;
  const b2 = 0.999;
  s.t++;
  const c1 = 1 - b1 ** s.t;
  const c2 = 1 - b2 ** s.t;
  const update = (w: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array): void => {
    for (let i = 0; i < w.length; i++) {
      const gi = grad[i] ?? 0;
      const mi = b1 * (m[i] ?? 0) + (1 - b1) * gi;
      const vi = b2 * (v[i] ?? 0) + (1 - b2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      w[i] = (w[i] ?? 0) - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + 1e-8);
    }
  };
  update(head.W, g, s.m, s.v);
  update(head.b, gb, s.mb, s.vb);
}

interface BatchContext {
  head: LinearHead;
  spec: HeadSpec;
  set: LabelledSet;
  featureCount: number;
  denseCount: number;
  g: Float32Array;
  gb: Float32Array;
}

/** Sum of the batch's row weights (1 when they are all 0). */
function batchWeight(set: LabelledSet, batch: readonly number[]): number {
  let wsum = 0;
  for (const r of batch) wsum += set.weights[r] ?? 0;
  return wsum === 0 ? 1 : wsum;
}

function addAt(xs: Float32Array, i: number, v: number): void {
  xs[i] = (xs[i] ?? 0) + v;
}

/** Adds the gradient of row r (weight w, probabilities z) into ctx.g/ctx.gb. */
function rowGradient(ctx: BatchContext, row: SparseRow, r: number, w: number, z: Float64Array): void {
  const { spec, set, g, gb } = ctx;
  const C = spec.classes;
  const maxIdx = spec.useHashed ? ctx.featureCount : ctx.denseCount;
  for (let c = 0; c < C; c++) {
    const d = w * ((z[c] ?? 0) - (set.targets[r * C + c] ?? 0));
    addAt(gb, c, d);
    for (let k = 0; k < row.idx.length; k++) {
      const i = row.idx[k] ?? 0;
      if (usable(i, maxIdx, spec.allowed)) g[i * C + c] = (g[i * C + c] ?? 0) + d * (row.val[k] ?? 0);
    }
  }
}

/** Adds the L2 penalty's gradient (dense and hashed blocks have their own strength) into ctx.g. */
function l2Gradient(ctx: BatchContext): void {
  const { head, spec, g, denseCount } = ctx;
  const C = spec.classes;
  const maxIdx = spec.useHashed ? ctx.featureCount : denseCount;
  for (let i = 0; i < maxIdx; i++) {
    const l2 = i < denseCount ? spec.l2Dense : spec.l2Hashed;
    for (let c = 0; c < C; c++) g[i * C + c] = (g[i * C + c] ?? 0) + l2 * (head.W[i * C + c] ?? 0);
  }
}

/** Accumulates the gradient of one mini-batch into ctx.g/ctx.gb (including L2); returns the batch loss. */
function batchGradient(ctx: BatchContext, batch: readonly number[]): number {
  const { head, spec, set, featureCount, denseCount } = ctx;
  const C = spec.classes;
  const maxIdx = spec.useHashed ? featureCount : denseCount;
  const z = new Float64Array(C);
  const wsum = batchWeight(set, batch);
  ctx.g.fill(0);
  ctx.gb.fill(0);
  let loss = 0;
  for (const r of batch) {
    const row = set.rows[r];
    if (row === undefined) continue;
    logits({ W: head.W, b: head.b, allowed: spec.allowed }, row, C, maxIdx, z);
    activate(z, spec.kind, C);
    const w = (set.weights[r] ?? 0) / wsum;
    loss += w * rowLoss(z, set.targets, r * C, spec);
    rowGradient(ctx, row, r, w, z);
  }
  l2Gradient(ctx);
  return loss;
}

/** Mini-batch Adam with L2; keeps the weights of the epoch with the lowest validation loss. */
export function trainHead(
  train: LabelledSet,
  val: LabelledSet,
  spec: HeadSpec,
  size: { featureCount: number; denseCount: number },
  opts: TrainOptions,
): LinearHead {
  const { featureCount, denseCount } = size;
  const C = spec.classes;
  const head: LinearHead = {
    W: new Float32Array(featureCount * C),
    b: new Float32Array(C),
    classes: C,
    bestEpoch: 0,
    valLoss: Infinity,
  };
  const state: AdamState = {
    m: new Float32Array(head.W.length),
    v: new Float32Array(head.W.length),
    mb: new Float32Array(C),
    vb: new Float32Array(C),
    t: 0,
  };
  const ctx: BatchContext = {
    head,
    spec,
    set: train,
    featureCount,
    denseCount,
    g: new Float32Array(head.W.length),
    gb: new Float32Array(C),
  };
  const random = rng(opts.seed);
  const order = train.rows.map((_, i) => i);
  let best = { W: head.W.slice(), b: head.b.slice(), epoch: 0, loss: Infinity };
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    shuffleInPlace(order, random);
    let trainLoss = 0;
    for (let s = 0; s < order.length; s += opts.batchSize) {
      const batch = order.slice(s, s + opts.batchSize);
      trainLoss += (batchGradient(ctx, batch) * batch.length) / order.length;
      adamStep(head, ctx.g, ctx.gb, state, opts.lr);
    }
    const valLoss = setLoss(head, val, spec, featureCount, denseCount);
    opts.onEpoch?.(epoch, trainLoss, valLoss);
    if (valLoss < best.loss) best = { W: head.W.slice(), b: head.b.slice(), epoch, loss: valLoss };
  }
  return { W: best.W, b: best.b, classes: C, bestEpoch: best.epoch, valLoss: best.loss };
}
