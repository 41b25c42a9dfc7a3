import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DOMAINS, TASKS } from "../config/types.js";
import { LruCache } from "./lru.js";
import { applyCalibration } from "./model-metadata.js";
import { ModelMismatchError, OnnxClassifier } from "./onnx-classifier.js";
import * as ort from "onnxruntime-node";
import { analyzerModelSpec, HEAD_WIDTH } from "../../analyzer/onnx/analyzer-graph.js";
import { encodeOnnxModel } from "../../analyzer/onnx/onnx-writer.js";
import { writeTinyAnalyzer } from "../../analyzer/onnx/tiny-analyzer.js";
import { analyzerPrompts } from "../../test/fixtures/analyzer/prompts.js";
import type { EngineChoice } from "./analyzer-engine.js";
import { chooseEngine } from "./ort-engine.js";
import { DEFAULT_FEATURE_CONFIG, featureSize } from "./featurize.js";
import type { Classification } from "./types.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "rw-classify-"));
const input = (prompt: string) => ({ prompt, system: "", totalChars: prompt.length });

describe("OnnxClassifier", () => {
  it("loads a generated model and returns valid classifications", async () => {
    const dir = tmp();
    writeTinyAnalyzer(dir);
    const c = await OnnxClassifier.load({ modelDir: dir });
    const r = await c.classify(input("Write a haiku about autumn leaves."));
    expect(TASKS).toContain(r.task);
    expect(DOMAINS).toContain(r.domain);
    expect(r.difficulty).toBeGreaterThanOrEqual(0);
    expect(r.difficulty).toBeLessThanOrEqual(1);
    expect(r.confidence).toBeGreaterThan(0);
    expect(r.source).toBe("builtin-onnx");
    const batch = await c.classifyUncached([input("a"), input("Write a haiku about autumn leaves.")]);
    expect(batch[1]).toEqual(r);
  });

  it("caches by normalised prompt and counts hits and misses", async () => {
    const dir = tmp();
    writeTinyAnalyzer(dir);
    let hits = 0;
    const c = await OnnxClassifier.load({ modelDir: dir, cacheSize: 2, onCacheHit: () => hits++ });
    await c.classify(input("Hello world"));
    await c.classify(input("hello   WORLD"));
    expect([c.cacheHits, c.cacheMisses, hits]).toEqual([1, 1, 1]);
    await c.classify(input("two"));
    await c.classify(input("three"));
    await c.classify(input("hello world"));
    expect(c.cacheMisses).toBe(4);
  });

  it("throws a clear error when outputs do not match the metadata", async () => {
    const dir = tmp();
    writeTinyAnalyzer(dir, undefined, (m) => {
      m.outputs = m.outputs.map((o) => (o.name === "task_probs" ? { ...o, name: "tasks" } : o));
    });
    await expect(OnnxClassifier.load({ modelDir: dir })).rejects.toThrow(ModelMismatchError);
    await expect(OnnxClassifier.load({ modelDir: dir })).rejects.toThrow(
      /outputs .* do not match metadata.json outputs/,
    );
  });

  it("throws when the feature config disagrees with the graph's input width", async () => {
    const dir = tmp();
    writeTinyAnalyzer(dir, undefined, (m) => {
      m.feature = { ...DEFAULT_FEATURE_CONFIG, hashBits: 9 };
    });
    await expect(OnnxClassifier.load({ modelDir: dir })).rejects.toThrow(/features for this feature config/);
  });

  it("rejects bad metadata naming the field", async () => {
    const dir = tmp();
    writeTinyAnalyzer(dir, undefined, (m) => {
      m.labels.task = ["chat"];
    });
    await expect(OnnxClassifier.load({ modelDir: dir })).rejects.toThrow(/labels.task/);
    await expect(OnnxClassifier.load({ modelDir: join(dir, "missing") })).rejects.toThrow(
      /cannot read classifier metadata/,
    );
  });
});

/** Task and domain equal; difficulty and confidence within 1e-5 (the two engines' outputs agree to ~1e-7). */
function expectSameClassifications(a: readonly Classification[], b: readonly Classification[]): void {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => {
    const y = b[i] as Classification;
    expect([x.task, x.domain, x.source]).toEqual([y.task, y.domain, y.source]);
    expect(Math.abs(x.difficulty - y.difficulty)).toBeLessThanOrEqual(1e-5);
    expect(Math.abs(x.confidence - y.confidence)).toBeLessThanOrEqual(1e-5);
  });
}

describe("OnnxClassifier engines", () => {
  it("runs the shipped model on the JS evaluator and classifies every fixture prompt as ONNX Runtime does", async () => {
    const choices: EngineChoice[] = [];
    const js = await OnnxClassifier.load({ cacheSize: 0, onEngine: (c) => choices.push(c) });
    const reference = await OnnxClassifier.load({ cacheSize: 0, engine: "ort" });
    expect(choices.map((c) => c.kind)).toEqual(["js"]);
    expect(choices[0]?.reason).toMatch(/agrees with ONNX Runtime on \d+ probes/);
    expect(reference.engine.kind).toBe("ort");
    const prompts = analyzerPrompts();
    const sync = prompts.map((p) => js.classify(p));
    expect(sync.some((r) => r instanceof Promise)).toBe(false);
    expectSameClassifications(sync as Classification[], await reference.classifyUncached(prompts));
    expectSameClassifications(await js.classifyUncached(prompts), sync as Classification[]);
  });

  it("answers a cache hit synchronously on the ORT engine, a miss with a promise", async () => {
    const c = await OnnxClassifier.load({ engine: "ort" });
    const miss = c.classify(input("Explain recursion to a child."));
    expect(miss).toBeInstanceOf(Promise);
    const first = await miss;
    expect(c.classify(input("explain   recursion to a child."))).toEqual(first);
  });

  it("batches the ORT engine's calls made in one turn into one session.run, each row answered as alone", async () => {
    const c = await OnnxClassifier.load({ cacheSize: 0, engine: "ort" });
    const prompts = analyzerPrompts().slice(0, 12);
    // Each call submits its row synchronously; the first run starts after this turn.
    const together = await Promise.all(prompts.map(async (p) => c.classify(p)));
    expect(c.ortRuns).toEqual({ runs: 1, rows: 12 });
    const alone: Classification[] = [];
    for (const p of prompts) alone.push(await c.classify(p));
    expect(c.ortRuns).toEqual({ runs: 13, rows: 24 });
    expectSameClassifications(together, alone);
  });

  it("keeps ONNX Runtime, naming the op, when the graph has one the JS evaluator does not implement", async () => {
    const dir = tmp();
    const meta = writeTinyAnalyzer(dir);
    const f = featureSize(meta.feature);
    const spec = analyzerModelSpec(
      meta.feature,
      new Float32Array(f * HEAD_WIDTH).fill(0.01),
      new Float32Array(HEAD_WIDTH),
    );
    const nodes = spec.nodes.map((n) => (n.opType === "Sigmoid" ? { ...n, outputs: ["pre"] } : n));
    writeFileSync(
      join(dir, "model.onnx"),
      encodeOnnxModel({ ...spec, nodes: [...nodes, { opType: "Tanh", inputs: ["pre"], outputs: ["difficulty"] }] }),
    );
    const c = await OnnxClassifier.load({ modelDir: dir, cacheSize: 0 });
    expect(c.engine.kind).toBe("ort");
    expect(c.engine.reason).toMatch(/cannot run this graph: node \d+ \(Tanh\)/);
    const r = c.classify(input("Write a haiku about autumn leaves."));
    expect(r).toBeInstanceOf(Promise);
    expect(TASKS).toContain((await r).task);
  });

  it("keeps ONNX Runtime when the JS evaluator's outputs differ from the session's on the probes", async () => {
    const dir = tmp();
    const meta = writeTinyAnalyzer(dir);
    const bytes = readFileSync(join(dir, "model.onnx"));
    const f = featureSize(meta.feature);
    const other = analyzerModelSpec(
      meta.feature,
      new Float32Array(f * HEAD_WIDTH).fill(0.3),
      new Float32Array(HEAD_WIDTH),
    );
    const session = await ort.InferenceSession.create(encodeOnnxModel(other));
    const { choice, graph } = await chooseEngine(bytes, session, meta.feature);
    expect(graph).toBeNull();
    expect(choice.kind).toBe("ort");
    expect(choice.reason).toMatch(/differs from ONNX Runtime by [\d.e-]+ \(> 0.00001\) on probe 0 of/);
  });
});

describe("LruCache", () => {
  it("evicts the least recently used entry", () => {
    const c = new LruCache<string, number>(2);
    c.set("a", 1);
    c.set("b", 2);
    expect(c.get("a")).toBe(1);
    c.set("c", 3);
    expect(c.get("b")).toBeUndefined();
    expect(c.get("a")).toBe(1);
    expect(c.size).toBe(2);
    const off = new LruCache<string, number>(0);
    off.set("a", 1);
    expect(off.get("a")).toBeUndefined();
  });
});

describe("calibration", () => {
  it("interpolates and clamps", () => {
    const t = { kind: "isotonic" as const, x: [0.2, 0.4], y: [0.1, 0.3] };
    expect(applyCalibration(t, 0)).toBe(0.1);
    expect(applyCalibration(t, 0.3)).toBeCloseTo(0.2, 12);
    expect(applyCalibration(t, 1)).toBe(0.3);
  });
});
