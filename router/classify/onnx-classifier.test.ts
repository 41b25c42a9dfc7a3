import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DOMAINS, TASKS } from "../config/types.js";
import { LruCache } from "./lru.js";
import { applyCalibration } from "./model-metadata.js";
import { ModelMismatchError, OnnxClassifier } from "./onnx-classifier.js";
import { writeTinyAnalyzer } from "../../analyzer/onnx/tiny-analyzer.js";
import { DEFAULT_FEATURE_CONFIG } from "./featurize.js";

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
