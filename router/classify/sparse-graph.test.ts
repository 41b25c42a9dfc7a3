import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { analyzerModelSpec, HEAD_WIDTH } from "../../analyzer/onnx/analyzer-graph.js";
import type { OnnxModelSpec } from "../../analyzer/onnx/onnx-writer.js";
import { encodeOnnxModel } from "../../analyzer/onnx/onnx-writer.js";
import { rng } from "../prng.js";
import { DEFAULT_FEATURE_CONFIG, DENSE_SIZE, featureSize } from "./featurize.js";
import { readOnnxGraph } from "./onnx-proto.js";
import type { SparseVector } from "./sparse-graph.js";
import { compileSparseGraph } from "./sparse-graph.js";

const feature = { ...DEFAULT_FEATURE_CONFIG, hashBits: 11 };
const width = featureSize(feature);

/** A row like the featurizer's: every dense value set, a few dozen hashed slots. */
function randomRow(random: () => number, w: number, dense: number, hashed: number): SparseVector {
  const slots = new Set<number>();
  while (slots.size < hashed) slots.add(dense + Math.floor(random() * (w - dense)));
  const index = Int32Array.from([...Array.from({ length: dense }, (_, j) => j), ...slots]);
  const value = Float32Array.from(index, (j) => (j < dense ? (random() - 0.3) * 6 : random() - 0.5));
  return { width: w, index, value };
}

function denseOf(rows: readonly SparseVector[], w: number): Float32Array {
  const out = new Float32Array(rows.length * w);
  rows.forEach((r, i) => {
    r.index.forEach((j, k) => (out[i * w + j] = r.value[k] ?? 0));
  });
  return out;
}

/** Largest |JS - ORT| over every output of every row. */
async function maxDiff(spec: OnnxModelSpec, w: number, rows: SparseVector[]): Promise<number> {
  const bytes = encodeOnnxModel(spec);
  const compiled = compileSparseGraph(readOnnxGraph(bytes), "features", w);
  if (!compiled.ok) throw new Error(compiled.reason);
  const session = await ort.InferenceSession.create(bytes);
  const result = await session.run({ features: new ort.Tensor("float32", denseOf(rows, w), [rows.length, w]) });
  let worst = 0;
  rows.forEach((row, i) => {
    compiled.graph.run(row).forEach((js, o) => {
      const ref = result[compiled.graph.outputNames[o] ?? ""]?.data as Float32Array;
      js.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - (ref[i * js.length + j] ?? NaN)))));
    });
  });
  return worst;
}

function analyzerSpec(random: () => number): OnnxModelSpec {
  const r = (n: number, scale: number): Float32Array =>
    Float32Array.from({ length: n }, () => (random() - 0.5) * scale);
  const hidden = 8;
  return analyzerModelSpec(
    feature,
    r(width * HEAD_WIDTH, 2),
    r(HEAD_WIDTH, 1),
    {},
    {
      denseClip: { lo: new Float32Array(DENSE_SIZE).fill(-1), hi: new Float32Array(DENSE_SIZE).fill(2.5) },
      mlp: { inputs: DENSE_SIZE, hidden, W1: r(DENSE_SIZE * hidden, 1), b1: r(hidden, 1), W2: r(hidden, 1), b2: 0.1 },
    },
  );
}

describe("compileSparseGraph", () => {
  it("evaluates the analyzer graph with dense clipping and the MLP difficulty head as ONNX Runtime does", async () => {
    const random = rng(7);
    const rows = Array.from({ length: 40 }, () => randomRow(random, width, DENSE_SIZE, 1 + Math.floor(random() * 200)));
    expect(await maxDiff(analyzerSpec(random), width, rows)).toBeLessThanOrEqual(1e-5);
  });

  it("evaluates Gemm with transB, alpha, beta and a [1, n] bias, and Relu, Add and Max against constants", async () => {
    const random = rng(11);
    const w = 1500;
    const r = (n: number): Float32Array => Float32Array.from({ length: n }, () => random() - 0.5);
    const spec: OnnxModelSpec = {
      graphName: "g",
      initializers: [
        { name: "B", dims: [6, w], data: r(6 * w) },
        { name: "C", dims: [1, 6], data: r(6) },
        { name: "floor", dims: [1], data: Float32Array.of(-0.05) },
      ],
      nodes: [
        {
          opType: "Gemm",
          inputs: ["features", "B", "C"],
          outputs: ["y"],
          attributes: [
            { name: "transB", kind: "int", value: 1 },
            { name: "alpha", kind: "float", value: 0.5 },
            { name: "beta", kind: "float", value: 2 },
          ],
        },
        { opType: "Relu", inputs: ["y"], outputs: ["r"] },
        { opType: "Add", inputs: ["r", "y"], outputs: ["s"] },
        { opType: "Max", inputs: ["s", "floor"], outputs: ["out"] },
      ],
      inputs: [{ name: "features", elemType: "float", shape: ["batch", w] }],
      outputs: [{ name: "out", elemType: "float", shape: ["batch", 6] }],
    };
    const rows = Array.from({ length: 20 }, () => randomRow(random, w, 10, 50));
    expect(await maxDiff(spec, w, rows)).toBeLessThanOrEqual(1e-5);
  });

  it("gives every row the answer a freshly compiled graph gives, though one graph reuses its buffers for every row", () => {
    const random = rng(23);
    const bytes = encodeOnnxModel(analyzerSpec(random));
    const compile = () => {
      const compiled = compileSparseGraph(readOnnxGraph(bytes), "features", width);
      if (!compiled.ok) throw new Error(compiled.reason);
      return compiled.graph;
    };
    // Small and large rows alternating: a sparse buffer grows, and a shorter row after a longer one must not see
    // the longer one's entries; an all-zero hashed block must not see the last row's.
    const sizes = [3, 400, 5, 0, 1200, 1, 60];
    const rows = sizes.map((n) => randomRow(random, width, DENSE_SIZE, n));
    const shared = compile();
    const outputs = rows.map((row) => shared.run(row));
    outputs[0]?.[0]?.fill(99); // the caller owns what run() returns
    rows.forEach((row, i) => {
      expect(shared.run(row)).toEqual(compile().run(row));
      if (i > 0) expect(outputs[i]).toEqual(compile().run(row));
    });
  });

  it("refuses a graph with an op it does not implement, naming the node", () => {
    const spec = analyzerModelSpec(feature, new Float32Array(width * HEAD_WIDTH), new Float32Array(HEAD_WIDTH));
    const nodes = spec.nodes.map((n) => (n.opType === "Sigmoid" ? { ...n, outputs: ["pre"] } : n));
    const bytes = encodeOnnxModel({
      ...spec,
      nodes: [...nodes, { opType: "Tanh", inputs: ["pre"], outputs: ["difficulty"] }],
    });
    const compiled = compileSparseGraph(readOnnxGraph(bytes), "features", width);
    expect(compiled.ok ? "" : compiled.reason).toMatch(/node 5 \(Tanh\): not one of the ops/);
  });

  it("refuses a Split along the batch axis and an input of another width", () => {
    const spec = analyzerModelSpec(feature, new Float32Array(width * HEAD_WIDTH), new Float32Array(HEAD_WIDTH));
    const nodes = spec.nodes.map((n) => (n.opType === "Split" ? { ...n, attributes: [] } : n));
    const split = compileSparseGraph(readOnnxGraph(encodeOnnxModel({ ...spec, nodes })), "features", width);
    expect(split.ok ? "" : split.reason).toMatch(/Split\): only axis 1/);
    const wide = compileSparseGraph(readOnnxGraph(encodeOnnxModel(spec)), "features", width + 1);
    expect(wide.ok ? "" : wide.reason).toMatch(/A has \d+ columns, B has \d+ rows/);
  });
});
