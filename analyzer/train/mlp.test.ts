import { describe, expect, it } from "vitest";
import { mlpLogit, mlpLoss, trainMlp, trainMlpEnsemble } from "./mlp.js";

describe("trainMlp", () => {
  it("learns a non-linear (XOR-like) target a linear head cannot, reproducibly", () => {
    const x: Float32Array[] = [];
    const targets: number[] = [];
    for (let i = 0; i < 200; i++) {
      const a = i % 2 === 0 ? 1 : -1;
      const b = Math.floor(i / 2) % 2 === 0 ? 1 : -1;
      x.push(Float32Array.from([a, b]));
      targets.push(a * b > 0 ? 0.9 : 0.1);
    }
    const set = { x, targets: Float32Array.from(targets), weights: new Float32Array(x.length).fill(1) };
    const opts = { hidden: 8, epochs: 60, batchSize: 16, lr: 0.02, weightDecay: 0, seed: 1 };
    const m = trainMlp(set, 2, opts);
    // Best achievable loss is the targets' entropy, H(0.1) ≈ 0.325; a constant predictor gets ln 2 ≈ 0.693.
    expect(mlpLoss(m, set)).toBeLessThan(0.36);
    expect(mlpLoss(trainMlp(set, 2, opts), set)).toBe(mlpLoss(m, set));
  });

  it("merges an ensemble into one MLP whose logit is the mean of its members'", () => {
    const x = Array.from({ length: 40 }, (_, i) => Float32Array.from([Math.sin(i), Math.cos(i * 0.7), i / 40]));
    const set = {
      x,
      targets: Float32Array.from(x, (v) => ((v[0] ?? 0) * (v[1] ?? 0) > 0 ? 0.8 : 0.2)),
      weights: new Float32Array(x.length).fill(1),
    };
    const opts = { hidden: 4, epochs: 5, batchSize: 8, lr: 0.01, weightDecay: 0, seed: 3 };
    const merged = trainMlpEnsemble(set, 3, opts, 3);
    expect(merged.hidden).toBe(12);
    const members = [0, 1, 2].map((k) => trainMlp(set, 3, { ...opts, seed: opts.seed + k * 1000 }));
    for (const v of x) {
      const mean = members.reduce((s, m) => s + mlpLogit(m, v), 0) / 3;
      expect(mlpLogit(merged, v)).toBeCloseTo(mean, 5);
    }
  });
});
