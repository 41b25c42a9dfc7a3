import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CUSTOM_CONFIG_FILE, CustomClassifier, CustomModelError } from "./custom-classifier.js";
import type { OnnxModelSpec } from "../../analyzer/onnx/onnx-writer.js";
import { encodeOnnxModel } from "../../analyzer/onnx/onnx-writer.js";
import { WordPieceTokenizer } from "./wordpiece.js";

const VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", "un", "##aff", "##able", ",", "!"].join("\n");

/** logits = [m, -m] where m = mean(input_ids * attention_mask) / 10: more/larger token ids -> higher. */
function tinyModel(inputName = "input_ids"): OnnxModelSpec {
  return {
    graphName: "tiny_custom",
    initializers: [
      { name: "scale", dims: [], data: Float32Array.from([0.1]) },
      { name: "neg", dims: [], data: Float32Array.from([-1]) },
    ],
    nodes: [
      { opType: "Cast", inputs: [inputName], outputs: ["ids_f"], attributes: [{ name: "to", kind: "int", value: 1 }] },
      {
        opType: "Cast",
        inputs: ["attention_mask"],
        outputs: ["mask_f"],
        attributes: [{ name: "to", kind: "int", value: 1 }],
      },
      { opType: "Mul", inputs: ["ids_f", "mask_f"], outputs: ["masked"] },
      {
        opType: "ReduceMean",
        inputs: ["masked"],
        outputs: ["mean"],
        attributes: [
          { name: "axes", kind: "ints", value: [1] },
          { name: "keepdims", kind: "int", value: 1 },
        ],
      },
      { opType: "Mul", inputs: ["mean", "scale"], outputs: ["pos"] },
      { opType: "Mul", inputs: ["pos", "neg"], outputs: ["negv"] },
      {
        opType: "Concat",
        inputs: ["pos", "negv"],
        outputs: ["logits"],
        attributes: [{ name: "axis", kind: "int", value: 1 }],
      },
    ],
    inputs: [
      { name: inputName, elemType: "int64", shape: ["batch", "seq"] },
      { name: "attention_mask", elemType: "int64", shape: ["batch", "seq"] },
    ],
    outputs: [{ name: "logits", elemType: "float", shape: ["batch", 2] }],
  };
}

function modelDir(spec: OnnxModelSpec, config: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), "rw-custom-"));
  writeFileSync(join(dir, "model.onnx"), encodeOnnxModel(spec));
  writeFileSync(join(dir, "vocab.txt"), VOCAB);
  writeFileSync(join(dir, CUSTOM_CONFIG_FILE), JSON.stringify(config));
  return dir;
}

const CONFIG = { difficulty: { output: "logits", index: 0, activation: "softmax" }, maxLength: 16 };

describe("WordPieceTokenizer", () => {
  it("splits words greedily into ## pieces with [CLS]/[SEP] and [UNK]", () => {
    const t = new WordPieceTokenizer(VOCAB, { lowercase: true, maxLength: 16 });
    expect(t.basicTokens("Hello, WORLD!")).toEqual(["hello", ",", "world", "!"]);
    expect(t.wordIds("unaffable")).toEqual([6, 7, 8]);
    expect(t.wordIds("xyz")).toEqual([1]);
    expect(Array.from(t.encode("Héllo unaffable").inputIds)).toEqual([2n, 4n, 6n, 7n, 8n, 3n]);
    expect(
      new WordPieceTokenizer(VOCAB, { lowercase: true, maxLength: 4 }).encode("hello hello hello hello").inputIds
        .length,
    ).toBe(4);
    expect(() => new WordPieceTokenizer("a\nb", { lowercase: true, maxLength: 8 })).toThrow(/\[UNK\]/);
  });
});

describe("CustomClassifier", () => {
  it("runs a generated ONNX graph and maps its output to difficulty", async () => {
    const c = await CustomClassifier.load(modelDir(tinyModel(), CONFIG));
    const easy = await c.classify({ prompt: "hello", system: "", totalChars: 5 });
    const hard = await c.classify({ prompt: "unaffable unaffable", system: "", totalChars: 19 });
    expect(easy.source).toBe("custom");
    expect(hard.difficulty).toBeGreaterThan(easy.difficulty);
    expect(easy.task).toBe("chat");
    await c.classify({ prompt: "hello", system: "", totalChars: 5 });
    expect(c.cacheHits).toBe(1);
  });

  it("rejects a model without input_ids", async () => {
    await expect(CustomClassifier.load(modelDir(tinyModel("ids"), CONFIG))).rejects.toThrow(/needs "input_ids"/);
  });

  it("rejects a config naming a missing output or a wrong width", async () => {
    await expect(CustomClassifier.load(modelDir(tinyModel(), { difficulty: { output: "score" } }))).rejects.toThrow(
      /config names "score"/,
    );
    await expect(
      CustomClassifier.load(modelDir(tinyModel(), { ...CONFIG, task: { output: "logits" } })),
    ).rejects.toThrow(CustomModelError);
    await expect(CustomClassifier.load(modelDir(tinyModel(), {}))).rejects.toThrow(/difficulty.output/);
  });
});
