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

export function fitIrt(rows: readonly UnifiedRow[], opts: IrtOptions): IrtFit {
  const M = opts.models.length;
  const N = rows.length;
  const obsI: number[] = [];
  const obsM: number[] = [];
  const obsY: number[] = [];
  rows.forEach((r, i) => {
    opts.models.forEach((m, k) => {
      const s = r.scores[m];
      if (s === undefined || s === null) return;
      obsI.push(i);
      obsM.push(k);
      obsY.push(Math.min(1, Math.max(0, s)));
    });
  });
  const theta = new Float64Array(M);
  const logA = new Float64Array(M);
  const b = new Float64Array(N);
  const has = new Uint8Array(N);
  for (const i of obsI) has[i] = 1;
  // Adam state for the three parameter blocks.
  const params = [theta, logA, b];
  const m1 = params.map((p) => new Float64Array(p.length));
  const m2 = params.map((p) => new Float64Array(p.length));
  const grads = params.map((p) => new Float64Array(p.length));
  const nObs = Math.max(1, obsY.length);
  let nll = 0;
  for (let t = 1; t <= opts.iterations; t++) {
    for (const g of grads) g.fill(0);
    nll = 0;
    for (let o = 0; o < obsY.length; o++) {
      const i = obsI[o] ?? 0;
      const k = obsM[o] ?? 0;
      const y = obsY[o] ?? 0;
      const a = opts.kind === "2pl" ? Math.exp(logA[k] ?? 0) : 1;
      const d = (theta[k] ?? 0) - (b[i] ?? 0);
      const z = a * d;
      const p = 1 / (1 + Math.exp(-z));
      const q = Math.min(1 - 1e-9, Math.max(1e-9, p));
      nll -= y * Math.log(q) + (1 - y) * Math.log(1 - q);
      const e = (p - y) / nObs;
      (grads[0] as Float64Array)[k] = ((grads[0] as Float64Array)[k] ?? 0) + e * a;
      if (opts.kind === "2pl") (grads[1] as Float64Array)[k] = ((grads[1] as Float64Array)[k] ?? 0) + e * z;
      (grads[2] as Float64Array)[i] = ((grads[2] as Float64Array)[i] ?? 0) - e * a;
    }
    // Priors (scaled like the likelihood, per observation).
    const gb = grads[2] as Float64Array;
    for (let i = 0; i < N; i++) gb[i] = (gb[i] ?? 0) + (opts.priorB * (b[i] ?? 0)) / nObs;
    const ga = grads[1] as Float64Array;
    for (let k = 0; k < M; k++) ga[k] = (ga[k] ?? 0) + (1 * (logA[k] ?? 0)) / M;
    const lr = opts.lr * (1 - (0.9 * (t - 1)) / opts.iterations);
    const c1 = 1 - 0.9 ** t;
    const c2 = 1 - 0.999 ** t;
    params.forEach((p, j) => {
      const g = grads[j] as Float64Array;
      const mm = m1[j] as Float64Array;
      const vv = m2[j] as Float64Array;
      // Per-parameter gradients are tiny after the 1/nObs scaling; Adam is scale-free, so that is fine.
      for (let x = 0; x < p.length; x++) {
        const gi = g[x] ?? 0;
        mm[x] = 0.9 * (mm[x] ?? 0) + 0.1 * gi;
        vv[x] = 0.999 * (vv[x] ?? 0) + 0.001 * gi * gi;
        p[x] = (p[x] ?? 0) - (lr * ((mm[x] ?? 0) / c1)) / (Math.sqrt((vv[x] ?? 0) / c2) + 1e-12);
      }
    });
  }
  for (let i = 0; i < N; i++) if (has[i] === 0) b[i] = NaN;
  return {
    models: [...opts.models],
    theta: Array.from(theta),
    a: Array.from(logA, (x) => (opts.kind === "2pl" ? Math.exp(x) : 1)),
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
