import { describe, expect, it } from "vitest";
import { analyzerModelSpec, HEAD_WIDTH } from "../../analyzer/onnx/analyzer-graph.js";
import { encodeOnnxModel } from "../../analyzer/onnx/onnx-writer.js";
import { DEFAULT_FEATURE_CONFIG, DENSE_SIZE, featureSize } from "./featurize.js";
import { OnnxReadError, readOnnxGraph } from "./onnx-proto.js";

const feature = { ...DEFAULT_FEATURE_CONFIG, hashBits: 6 };
const f = featureSize(feature);
const W = Float32Array.from({ length: f * HEAD_WIDTH }, (_, i) => Math.sin(i));
const b = Float32Array.from({ length: HEAD_WIDTH }, (_, i) => i / 10);
const clip = { lo: new Float32Array(DENSE_SIZE).fill(-1), hi: new Float32Array(DENSE_SIZE).fill(2) };

describe("readOnnxGraph", () => {
  it("reads back the nodes, attributes, initializers and names the writer wrote", () => {
    const g = readOnnxGraph(encodeOnnxModel(analyzerModelSpec(feature, W, b, { k: "v" }, { denseClip: clip })));
    expect(g.opset).toBe(17);
    expect(g.inputs).toEqual(["features"]);
    expect(g.outputs).toEqual(["difficulty", "task_probs", "domain_probs"]);
    expect(g.nodes.map((n) => n.opType)).toEqual([
      "Slice",
      "Slice",
      "Max",
      "Min",
      "Concat",
      "Gemm",
      "Split",
      "Sigmoid",
      "Softmax",
      "Softmax",
    ]);
    expect(g.nodes[4]?.attributes.get("axis")?.i).toBe(1n);
    expect(g.nodes[5]?.inputs).toEqual(["clipped_features", "W", "b"]);
    const w = g.initializers.get("W");
    expect(w?.dims).toEqual([f, HEAD_WIDTH]);
    expect(Array.from(w?.data as Float32Array)).toEqual(Array.from(W));
    expect(Array.from(g.initializers.get("split")?.data as BigInt64Array)).toEqual([1n, 8n, 7n]);
    expect(Array.from(g.initializers.get("dense_hi")?.data as Float32Array)).toEqual(Array.from(clip.hi));
  });

  it("refuses bytes that hold no graph or stop mid-field", () => {
    expect(() => readOnnxGraph(new Uint8Array(0))).toThrow(/no graph/);
    const bytes = encodeOnnxModel(analyzerModelSpec(feature, W, b));
    expect(() => readOnnxGraph(bytes.subarray(0, bytes.length - 40))).toThrow(OnnxReadError);
  });
});
