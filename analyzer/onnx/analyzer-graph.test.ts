import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import type { DenseClip, DifficultyMlp } from "./analyzer-graph.js";
import { analyzerModelSpec, HEAD_WIDTH } from "./analyzer-graph.js";
import { DEFAULT_FEATURE_CONFIG, DENSE_SIZE, featureSize } from "../../router/classify/featurize.js";
import { ANALYZER_INPUT } from "../../router/classify/model-metadata.js";
import { encodeOnnxModel } from "./onnx-writer.js";

const feature = { ...DEFAULT_FEATURE_CONFIG, hashBits: 4 };
const f = featureSize(feature);
const wave = (n: number, k: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * k) * 0.3);

describe("analyzerModelSpec with an MLP difficulty head", () => {
  it("adds relu-MLP(dense block) to the linear difficulty logit", async () => {
    const H = 5;
    const W = wave(f * HEAD_WIDTH, 12.9898);
    const b = wave(HEAD_WIDTH, 3.1);
    const mlp: DifficultyMlp = {
      inputs: DENSE_SIZE,
      hidden: H,
      W1: wave(DENSE_SIZE * H, 7.7),
      b1: wave(H, 1.3),
      W2: wave(H, 2.9),
      b2: 0.2,
    };
    const session = await ort.InferenceSession.create(encodeOnnxModel(analyzerModelSpec(feature, W, b, {}, { mlp })));
    const x = wave(f, 0.37);
    const out = await session.run({ [ANALYZER_INPUT]: new ort.Tensor("float32", x, [1, f]) });
    let z = b[0] ?? 0;
    for (let i = 0; i < f; i++) z += (x[i] ?? 0) * (W[i * HEAD_WIDTH] ?? 0);
    let m = mlp.b2;
    for (let j = 0; j < H; j++) {
      let h = mlp.b1[j] ?? 0;
      for (let i = 0; i < DENSE_SIZE; i++) h += (x[i] ?? 0) * (mlp.W1[i * H + j] ?? 0);
      m += Math.max(0, h) * (mlp.W2[j] ?? 0);
    }
    const want = 1 / (1 + Math.exp(-(z + m)));
    expect((out["difficulty"]?.data as Float32Array)[0]).toBeCloseTo(want, 5);
    expect(out["task_probs"]?.dims).toEqual([1, 8]);
  });

  it("clips the dense block to its bounds before every head, leaving the hashed block alone", async () => {
    const H = 3;
    const W = wave(f * HEAD_WIDTH, 5.3);
    const b = wave(HEAD_WIDTH, 1.7);
    const mlp: DifficultyMlp = {
      inputs: DENSE_SIZE,
      hidden: H,
      W1: wave(DENSE_SIZE * H, 4.1),
      b1: wave(H, 0.9),
      W2: wave(H, 2.3),
      b2: -0.1,
    };
    const denseClip: DenseClip = {
      lo: new Float32Array(DENSE_SIZE).fill(-1),
      hi: new Float32Array(DENSE_SIZE).fill(2),
    };
    const model = encodeOnnxModel(analyzerModelSpec(feature, W, b, {}, { mlp, denseClip }));
    const session = await ort.InferenceSession.create(model);
    const run = async (x: Float32Array): Promise<number[]> => {
      const out = await session.run({ [ANALYZER_INPUT]: new ort.Tensor("float32", x, [1, f]) });
      return [...(out["difficulty"]?.data as Float32Array), ...(out["task_probs"]?.data as Float32Array)];
    };
    const extreme = wave(f, 0.51).map((v, i) => (i < DENSE_SIZE ? v * 1000 : v));
    const clipped = extreme.map((v, i) => (i < DENSE_SIZE ? Math.min(2, Math.max(-1, v)) : v));
    const [a, c] = [await run(extreme), await run(clipped)];
    a.forEach((v, i) => {
      expect(v).toBeCloseTo(c[i] ?? NaN, 6);
    });
    // Within the bounds the graph equals the unclipped one.
    const inside = wave(f, 0.23);
    const plain = await ort.InferenceSession.create(encodeOnnxModel(analyzerModelSpec(feature, W, b, {}, { mlp })));
    const p = await plain.run({ [ANALYZER_INPUT]: new ort.Tensor("float32", inside, [1, f]) });
    expect((await run(inside))[0]).toBeCloseTo((p["difficulty"]?.data as Float32Array)[0] ?? NaN, 6);
  });
});
