/**
 * Item-response model fitted on the routing tables: P(model m answers prompt i well) = σ(a_m·(θ_m − b_i)), with
 * soft scores in [0,1] as Bernoulli targets. The per-prompt difficulty b_i is shared by every model (model-agnostic by
 * construction); θ_m is each model's ability and a_m its discrimination (a ≡ 1 for the 1PL/Rasch variant).
 * Full-batch Adam on the penalised log-likelihood; deterministic (no randomness).
 */
import type { UnifiedRow } from "../eval/unified-rows.js";

export interface IrtOptions {
  /** Models to use (others are ignored). */
  models: readonly string[];
  /** "1pl": a_m = 1; "2pl": a_m free (log-normal prior). */
  kind: "1pl" | "2pl";
  /** Gaussian prior precision on b_i (keeps all-correct / all-wrong prompts finite). */
  priorB: number;
  iterations: number;
  lr: number;
}

export interface IrtFit {
  models: string[];
  theta: number[];
  a: number[];
  /** Difficulty per row, same order as the input rows (NaN when the row has no usable score). */
  b: Float64Array;
  /** Mean negative log-likelihood per observation at the end. */
  nll: number;
}

export const DEFAULT_IRT: Omit<IrtOptions, "models"> = { kind: "2pl", priorB: 0.5, iterations: 400, lr: 0.05 };

interface Observations {
  /** Row index, model index and clamped score of each (row, model) with a score. */
  row: number[];
  model: number[];
  y: number[];
}

function observations(rows: readonly UnifiedRow[], models: readonly string[]): Observations {
  const obs: Observations = { row: [], model: [], y: [] };
  rows.forEach((r, i) => {
    models.forEach((m, k) => {
      const s = r.scores[m];
      if (s === undefined || s === null) return;
      obs.row.push(i);
      obs.model.push(k);
      obs.y.push(Math.min(1, Math.max(0, s)));
    });
  });
  return obs;
}

/** The three parameter blocks (theta, log a, b), each with its gradient and Adam moments. */
interface IrtState {
  theta: Float64Array;
  logA: Float64Array;
  b: Float64Array;
  params: Float64Array[];
  grads: Float64Array[];
  m1: Float64Array[];
  m2: Float64Array[];
}

function initialState(models: number, rows: number): IrtState {
  const theta = new Float64Array(models);
  const logA = new Float64Array(models);
  const b = new Float64Array(rows);
  const params = [theta, logA, b];
  return {
    theta,
    logA,
    b,
    params,
    m1: params.map((p) => new Float64Array(p.length)),
    m2: params.map((p) => new Float64Array(p.length)),
    grads: params.map((p) => new Float64Array(p.length)),
  };
}

function addAt(xs: Float64Array, i: number, v: number): void {
  xs[i] = (xs[i] ?? 0) + v;
}

function subtractAt(xs: Float64Array, i: number, v: number): void {
  xs[i] = (xs[i] ?? 0) - v;
}

/** Adds the likelihood gradient of every observation into `st.grads`; returns the summed negative log-likelihood. */
function likelihoodGradient(obs: Observations, st: IrtState, twoPl: boolean, nObs: number): number {
  const [gTheta, gLogA, gB] = st.grads as [Float64Array, Float64Array, Float64Array];
  let nll = 0;
  for (let o = 0; o < obs.y.length; o++) {
    const i = obs.row[o] ?? 0;
    const k = obs.model[o] ?? 0;
    const y = obs.y[o] ?? 0;
    const a = twoPl ? Math.exp(st.logA[k] ?? 0) : 1;
    const d = (st.theta[k] ?? 0) - (st.b[i] ?? 0);
    const z = a * d;
    const p = 1 / (1 + Math.exp(-z));
    const q = Math.min(1 - 1e-9, Math.max(1e-9, p));
    nll -= y * Math.log(q) + (1 - y) * Math.log(1 - q);
    const e = (p - y) / nObs;
    addAt(gTheta, k, e * a);
    if (twoPl) addAt(gLogA, k, e * z);
    subtractAt(gB, i, e * a);
  }
  return nll;
}

/** Priors (scaled like the likelihood, per observation). */
function priorGradient(st: IrtState, priorB: number, nObs: number): void {
  const gb = st.grads[2] as Float64Array;
  for (let i = 0; i < st.b.length; i++) gb[i] = (gb[i] ?? 0) + (priorB * (st.b[i] ?? 0)) / nObs;
  const ga = st.grads[1] as Float64Array;
  const M = st.logA.length;
  for (let k = 0; k < M; k++) ga[k] = (ga[k] ?? 0) + (1 * (st.logA[k] ?? 0)) / M;
}

function adamStep(st: IrtState, t: number, opts: IrtOptions): void {
  const lr = opts.lr * (1 - (0.9 * (t - 1)) / opts.iterations);
  const c1 = 1 - 0.9 ** t;
  const c2 = 1 - 0.999 ** t;
  st.params.forEach((p, j) => {
    const g = st.grads[j] as Float64Array;
    const mm = st.m1[j] as Float64Array;
    const vv = st.m2[j] as Float64Array;
    // Per-parameter gradients are tiny after the 1/nObs scaling; Adam is scale-free, so that is fine.
    for (let x = 0; x < p.length; x++) {
      const gi = g[x] ?? 0;
      mm[x] = 0.9 * (mm[x] ?? 0) + 0.1 * gi;
      vv[x] = 0.999 * (vv[x] ?? 0) + 0.001 * gi * gi;
      p[x] = (p[x] ?? 0) - (lr * ((mm[x] ?? 0) / c1)) / (Math.sqrt((vv[x] ?? 0) / c2) + 1e-12);
    }
  });
}

export function fitIrt(rows: readonly UnifiedRow[], opts: IrtOptions): IrtFit {
  const obs = observations(rows, opts.models);
  const st = initialState(opts.models.length, rows.length);
  const has = new Uint8Array(rows.length);
  for (const i of obs.row) has[i] = 1;
  const nObs = Math.max(1, obs.y.length);
  let nll = 0;
  for (let t = 1; t <= opts.iterations; t++) {
    for (const g of st.grads) g.fill(0);
    nll = likelihoodGradient(obs, st, opts.kind === "2pl", nObs);
    priorGradient(st, opts.priorB, nObs);
    adamStep(st, t, opts);
  }
  const { b } = st;
  for (let i = 0; i < rows.length; i++) if (has[i] === 0) b[i] = NaN;
  return {
    models: [...opts.models],
    theta: Array.from(st.theta),
    a: Array.from(st.logA, (x) => (opts.kind === "2pl" ? Math.exp(x) : 1)),
    b,
    nll: nll / nObs,
  };
}

/** Declared 0–100 score the median training model is anchored to (router scale: ability = (score - 50) / 10). */
export const ANCHOR_SCORE = 70;

/** Shift that puts IRT logits on the router's ability scale: median model ability -> (ANCHOR_SCORE - 50) / 10. */
export function irtAnchor(fit: IrtFit): number {
  const sorted = [...fit.theta].sort((x, y) => x - y);
  const mid =
    sorted.length === 0 ? 0 : ((sorted[(sorted.length - 1) >> 1] ?? 0) + (sorted[sorted.length >> 1] ?? 0)) / 2;
  return (ANCHOR_SCORE - 50) / 10 - mid;
}

/** An IRT difficulty b as the router's [0,1] difficulty (quality.ts: b_router = -2 + 8 * difficulty). */
export function irtToUnit(b: number, shift: number): number {
  return Math.min(1, Math.max(0, (b + shift + 2) / 8));
}
