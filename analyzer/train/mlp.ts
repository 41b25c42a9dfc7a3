import { rng, shuffleInPlace } from "./rng.js";

/**
 * One-hidden-layer MLP (Linear -> ReLU -> Linear -> sigmoid) on dense, standardised features, trained with
 * mini-batch Adam, decoupled weight decay and a weighted soft-target binary cross-entropy.
 */
export interface MlpHead {
  inputs: number;
  hidden: number;
  /** inputs x hidden, row-major. */
  W1: Float32Array;
  b1: Float32Array;
  /** hidden values (one output). */
  W2: Float32Array;
  b2: number;
  bestEpoch: number;
  valLoss: number;
}

export interface MlpSet {
  /** Dense, standardised input rows (each `inputs` long). */
  x: readonly Float32Array[];
  targets: Float32Array;
  weights: Float32Array;
}

export interface MlpOptions {
  hidden: number;
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  seed: number;
  /** Without a validation set the last epoch is kept. */
  val?: MlpSet;
  onEpoch?: (epoch: number, trainLoss: number, valLoss: number) => void;
}

/** The first layer's pre-activations of one row into h (zero inputs skipped). */
function firstLayer(m: MlpHead, x: Float32Array, h: Float64Array): void {
  const H = m.hidden;
  for (let j = 0; j < H; j++) h[j] = m.b1[j] ?? 0;
  for (let i = 0; i < m.inputs; i++) {
    const v = x[i] ?? 0;
    if (v === 0) continue;
    const base = i * H;
    for (let j = 0; j < H; j++) h[j] = (h[j] ?? 0) + v * (m.W1[base + j] ?? 0);
  }
}

/** The output logit for one row (hidden activations written to `h` when given). */
export function mlpLogit(m: MlpHead, x: Float32Array, h: Float64Array = new Float64Array(m.hidden)): number {
  firstLayer(m, x, h);
  let z = m.b2;
  for (let j = 0; j < m.hidden; j++) {
    const a = Math.max(0, h[j] ?? 0);
    h[j] = a;
    z += a * (m.W2[j] ?? 0);
  }
  return z;
}

function bce(z: number, y: number): number {
  // log(1 + e^z) - y z, numerically stable.
  return Math.max(z, 0) - y * z + Math.log1p(Math.exp(-Math.abs(z)));
}

export function mlpLoss(m: MlpHead, set: MlpSet): number {
  let total = 0;
  let weight = 0;
  const h = new Float64Array(m.hidden);
  set.x.forEach((x, r) => {
    const w = set.weights[r] ?? 0;
    total += w * bce(mlpLogit(m, x, h), set.targets[r] ?? 0);
    weight += w;
  });
  return weight === 0 ? 0 : total / weight;
}

/** Adds dh * x into the W1 column of hidden unit j (zero inputs skipped). */
function addW1Gradient(g: Float64Array, x: Float32Array, m: MlpHead, j: number, dh: number): void {
  const { inputs, hidden: H } = m;
  for (let i = 0; i < inputs; i++) {
    const v = x[i] ?? 0;
    if (v !== 0) g[i * H + j] = (g[i * H + j] ?? 0) + dh * v;
  }
}

/** Adds the gradient of one row (loss scaled by w) into g, laid out as [W1, b1, W2, b2]; h = the row's activations. */
function backwardRow(m: MlpHead, x: Float32Array, h: Float64Array, d: number, g: Float64Array): void {
  const { inputs, hidden: H } = m;
  const oB1 = inputs * H;
  const oW2 = oB1 + H;
  g[oW2 + H] = (g[oW2 + H] ?? 0) + d;
  for (let j = 0; j < H; j++) {
    const a = h[j] ?? 0;
    g[oW2 + j] = (g[oW2 + j] ?? 0) + d * a;
    if (a <= 0) continue;
    const dh = d * (m.W2[j] ?? 0);
    g[oB1 + j] = (g[oB1 + j] ?? 0) + dh;
    addW1Gradient(g, x, m, j, dh);
  }
}

interface Adam {
  g: Float64Array;
  mom: Float64Array;
  vel: Float64Array;
  t: number;
}

/** One AdamW step over all parameters; weight decay on W1 and W2 only. */
function adamWStep(m: MlpHead, s: Adam, lr: number, weightDecay: number): void {
  const { inputs, hidden: H } = m;
  s.t++;
  const c1 = 1 - 0.9 ** s.t;
  const c2 = 1 - 0.999 ** s.t;
  const step = (k: number, value: number, decay: boolean): number => {
    const gk = s.g[k] ?? 0;
    const mk = 0.9 * (s.mom[k] ?? 0) + 0.1 * gk;
    const vk = 0.999 * (s.vel[k] ?? 0) + 0.001 * gk * gk;
    s.mom[k] = mk;
    s.vel[k] = vk;
    const wd = decay ? lr * weightDecay * value : 0;
    return value - (lr * (mk / c1)) / (Math.sqrt(vk / c2) + 1e-8) - wd;
  };
  for (let k = 0; k < inputs * H; k++) m.W1[k] = step(k, m.W1[k] ?? 0, true);
  for (let j = 0; j < H; j++) m.b1[j] = step(inputs * H + j, m.b1[j] ?? 0, false);
  for (let j = 0; j < H; j++) m.W2[j] = step(inputs * H + H + j, m.W2[j] ?? 0, true);
  m.b2 = step(inputs * H + 2 * H, m.b2, false);
}

function clone(m: MlpHead): MlpHead {
  return { ...m, W1: m.W1.slice(), b1: m.b1.slice(), W2: m.W2.slice() };
}

/** He-initialised first layer, small positive hidden biases (draws W1 then W2 from `random`). */
function initialMlp(inputs: number, H: number, random: () => number): MlpHead {
  const gauss = (): number => {
    const u = Math.max(1e-12, random());
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
  const s1 = Math.sqrt(2 / inputs);
  const s2 = Math.sqrt(1 / H);
  return {
    inputs,
    hidden: H,
    W1: Float32Array.from({ length: inputs * H }, () => gauss() * s1),
    b1: new Float32Array(H).fill(0.01),
    W2: Float32Array.from({ length: H }, () => gauss() * s2),
    b2: 0,
    bestEpoch: 0,
    valLoss: Infinity,
  };
}

interface Epoch {
  m: MlpHead;
  train: MlpSet;
  adam: Adam;
  /** Hidden activations scratch space. */
  h: Float64Array;
  /** Running weighted training loss and weight of the epoch, added row by row. */
  loss: number;
  weight: number;
}

/** One AdamW step on a mini-batch (skipped when its weights sum to 0). */
function trainBatch(ep: Epoch, batch: readonly number[], opts: MlpOptions): void {
  const { m, train, adam, h } = ep;
  let wsum = 0;
  for (const r of batch) wsum += train.weights[r] ?? 0;
  if (wsum === 0) return;
  adam.g.fill(0);
  for (const r of batch) {
    const x = train.x[r];
    if (x === undefined) continue;
    const z = mlpLogit(m, x, h);
    const y = train.targets[r] ?? 0;
    ep.loss += (train.weights[r] ?? 0) * bce(z, y);
    ep.weight += train.weights[r] ?? 0;
    backwardRow(m, x, h, ((train.weights[r] ?? 0) / wsum) * (1 / (1 + Math.exp(-z)) - y), adam.g);
  }
  adamWStep(m, adam, opts.lr, opts.weightDecay);
}

export function trainMlp(train: MlpSet, inputs: number, opts: MlpOptions): MlpHead {
  const H = opts.hidden;
  const random = rng(opts.seed);
  const m = initialMlp(inputs, H, random);
  // Parameters flattened as [W1, b1, W2, b2] for Adam.
  const P = inputs * H + H + H + 1;
  const adam: Adam = { g: new Float64Array(P), mom: new Float64Array(P), vel: new Float64Array(P), t: 0 };
  const h = new Float64Array(H);
  const order = train.x.map((_, i) => i);
  let best = clone(m);
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    shuffleInPlace(order, random);
    const ep: Epoch = { m, train, adam, h, loss: 0, weight: 0 };
    for (let s = 0; s < order.length; s += opts.batchSize) trainBatch(ep, order.slice(s, s + opts.batchSize), opts);
    const valLoss = opts.val === undefined ? 0 : mlpLoss(m, opts.val);
    opts.onEpoch?.(epoch, ep.weight === 0 ? 0 : ep.loss / ep.weight, valLoss);
    if (opts.val === undefined || valLoss < best.valLoss) best = { ...clone(m), bestEpoch: epoch, valLoss };
  }
  return best;
}

/**
 * `members` MLPs trained with seeds seed, seed+1000, ... and merged into one MLP whose logit is their mean: the
 * hidden layers are concatenated and the output weights divided by `members`. Averaging seeds lowers the variance of
 * the head (and of picking a variant by its validation score) at no cost at run time beyond a wider hidden layer.
 */
export function trainMlpEnsemble(train: MlpSet, inputs: number, opts: MlpOptions, members: number): MlpHead {
  const heads = Array.from({ length: members }, (_, k) =>
    trainMlp(train, inputs, { ...opts, seed: opts.seed + k * 1000 }),
  );
  const H = opts.hidden;
  const HK = H * members;
  const W1 = new Float32Array(inputs * HK);
  const b1 = new Float32Array(HK);
  const W2 = new Float32Array(HK);
  heads.forEach((m, k) => {
    for (let i = 0; i < inputs; i++) {
      for (let j = 0; j < H; j++) W1[i * HK + k * H + j] = m.W1[i * H + j] ?? 0;
    }
    for (let j = 0; j < H; j++) {
      b1[k * H + j] = m.b1[j] ?? 0;
      W2[k * H + j] = (m.W2[j] ?? 0) / members;
    }
  });
  const merged: MlpHead = {
    inputs,
    hidden: HK,
    W1,
    b1,
    W2,
    b2: heads.reduce((s, m) => s + m.b2, 0) / members,
    bestEpoch: Math.max(...heads.map((m) => m.bestEpoch)),
    valLoss: 0,
  };
  return { ...merged, valLoss: opts.val === undefined ? 0 : mlpLoss(merged, opts.val) };
}
