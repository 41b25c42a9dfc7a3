/**
 * Export stage: the three heads (and the MLP) as one ONNX graph over raw features, the dense standardisation folded
 * into the weights; written to `<out>/model.onnx`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_FEATURE_CONFIG, DENSE_SIZE } from "../../router/classify/featurize.js";
import { TASKS } from "../../router/config/types.js";
import type { DifficultyMlp } from "../onnx/analyzer-graph.js";
import { analyzerModelSpec, HEAD_WIDTH } from "../onnx/analyzer-graph.js";
import { encodeOnnxModel } from "../onnx/onnx-writer.js";
import type { FittedDifficulty } from "./difficulty-head.js";
import type { Standardizer } from "./features.js";
import { denseClip, F } from "./features.js";
import type { LabelHeads } from "./label-heads.js";
import type { LinearHead } from "./linear.js";
import type { MlpHead } from "./mlp.js";

/** One head's weights into its columns of W (standardisation (x - mean) / std folded in) and b. */
function foldHead(head: LinearHead, offset: number, st: Standardizer, out: { W: Float32Array; b: Float32Array }): void {
  for (let c = 0; c < head.classes; c++) {
    let bias = head.b[c] ?? 0;
    for (let i = 0; i < F; i++) {
      let w = head.W[i * head.classes + c] ?? 0;
      if (i < DENSE_SIZE) {
        // Fold the standardisation (x - mean) / std into the weights so the graph takes raw features.
        w /= st.std[i] ?? 1;
        bias -= w * (st.mean[i] ?? 0);
      }
      out.W[i * HEAD_WIDTH + offset + c] = w;
    }
    out.b[offset + c] = bias;
  }
}

function combine(
  heads: { diff: LinearHead; task: LinearHead; domain: LinearHead },
  st: Standardizer,
): { W: Float32Array; b: Float32Array } {
  const out = { W: new Float32Array(F * HEAD_WIDTH), b: new Float32Array(HEAD_WIDTH) };
  const parts: [LinearHead, number][] = [
    [heads.diff, 0],
    [heads.task, 1],
    [heads.domain, 1 + TASKS.length],
  ];
  for (const [head, offset] of parts) foldHead(head, offset, st, out);
  return out;
}

/** The MLP with the dense standardisation folded into its first layer, so the graph takes raw features. */
function foldMlp(m: MlpHead, st: Standardizer): DifficultyMlp {
  const H = m.hidden;
  const W1 = new Float32Array(m.W1.length);
  const b1 = Float32Array.from(m.b1);
  for (let i = 0; i < m.inputs; i++) {
    for (let j = 0; j < H; j++) {
      const w = (m.W1[i * H + j] ?? 0) / (st.std[i] ?? 1);
      W1[i * H + j] = w;
      b1[j] = (b1[j] ?? 0) - w * (st.mean[i] ?? 0);
    }
  }
  return { inputs: m.inputs, hidden: H, W1, b1, W2: Float32Array.from(m.W2), b2: m.b2 };
}

export function encodeAnalyzer(
  difficulty: FittedDifficulty,
  labels: LabelHeads,
  st: Standardizer,
  dataSha256: string,
): Uint8Array {
  const { W, b } = combine({ diff: difficulty.linear, task: labels.task, domain: labels.domain }, st);
  const mlp = difficulty.mlp;
  return encodeOnnxModel(
    analyzerModelSpec(
      DEFAULT_FEATURE_CONFIG,
      W,
      b,
      { "routewise.training_data_sha256": dataSha256 },
      { denseClip: denseClip(st), ...(mlp === undefined ? {} : { mlp: foldMlp(mlp, st) }) },
    ),
  );
}

export function writeModel(out: string, bytes: Uint8Array): void {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "model.onnx"), bytes);
}
