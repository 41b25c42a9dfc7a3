/**
 * Synthetic judged samples with a known truth, for the learner's and the SLO controller's tests (ADR 12).
 *
 * A sample: the baseline's true score b ~ N(7, 1), the routed answer's r = ρ·b + N(0, 0.8), so E[r]/E[b] = ρ
 * exactly. The judge grades twice (positions swapped); each grading adds N(0, gradeSd) per side and, with
 * probability `flipRate`, swaps the two grades. Each side's score is the mean of its two grades (ADR 10).
 */
import { rng } from "../../router/prng.js";

export interface SyntheticJudge {
  flipRate: number;
  /** Per-grade noise; 0 makes orders differ only by flips. */
  gradeSd: number;
}

export interface SyntheticSample {
  routed: number;
  baseline: number;
  /** Position grades: first = routed in A; second = routed in B. */
  first: { scoreA: number; scoreB: number };
  second: { scoreA: number; scoreB: number };
}

export function normal(random: () => number): () => number {
  return () => {
    const u = Math.max(random(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
}

export class SyntheticStream {
  readonly random: () => number;
  private readonly gauss: () => number;

  constructor(
    seed: number,
    private readonly judge: SyntheticJudge = { flipRate: 0, gradeSd: 0.5 },
  ) {
    this.random = rng(seed);
    this.gauss = normal(this.random);
  }

  /** One judged sample of a routed model whose true retention is `rho`. */
  sample(rho: number): SyntheticSample {
    const b = 7 + this.gauss();
    const r = rho * b + 0.8 * this.gauss();
    const g1 = this.grade(r, b);
    const g2 = this.grade(r, b);
    return {
      routed: (g1.r + g2.r) / 2,
      baseline: (g1.b + g2.b) / 2,
      first: { scoreA: g1.r, scoreB: g1.b },
      second: { scoreA: g2.b, scoreB: g2.r },
    };
  }

  samples(rho: number, n: number): SyntheticSample[] {
    return Array.from({ length: n }, () => this.sample(rho));
  }

  private grade(r: number, b: number): { r: number; b: number } {
    const gr = r + this.judge.gradeSd * this.gauss();
    const gb = b + this.judge.gradeSd * this.gauss();
    return this.random() < this.judge.flipRate ? { r: gb, b: gr } : { r: gr, b: gb };
  }
}
