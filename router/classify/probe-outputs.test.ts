import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { computeProbeOutputs, writeProbeOutputs } from "../../analyzer/onnx/probe-file.js";
import { writeTinyAnalyzer } from "../../analyzer/onnx/tiny-analyzer.js";
import { packageRoot } from "../config/package-root.js";
import { parseClassifierMetadata } from "./model-metadata.js";
import { defaultModelDir, OnnxClassifier } from "./onnx-classifier.js";
import type { ProbeOutputsFile } from "./probe-outputs.js";
import { parseProbeOutputs, PROBE_OUTPUTS_FILE } from "./probe-outputs.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "rw-probes-"));
const readStored = (dir: string): ProbeOutputsFile =>
  parseProbeOutputs(JSON.parse(readFileSync(join(dir, PROBE_OUTPUTS_FILE), "utf8")));

function maxOutputDiff(a: ProbeOutputsFile, b: ProbeOutputsFile): number {
  let worst = 0;
  a.probes.forEach((p, i) => {
    const q = b.probes[i];
    const pairs: [number[], number[]][] = [
      [[p.difficulty], [q?.difficulty ?? NaN]],
      [p.taskProbs, q?.taskProbs ?? []],
      [p.domainProbs, q?.domainProbs ?? []],
    ];
    for (const [x, y] of pairs) {
      if (x.length !== y.length) worst = Infinity;
      x.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - (y[j] ?? NaN)) || 0)));
    }
  });
  return worst;
}

describe("probe-outputs.json", () => {
  it("is current for the shipped model: today's probes, and ONNX Runtime still computes its outputs", async () => {
    const dir = defaultModelDir();
    const metaPath = join(dir, "metadata.json");
    const meta = parseClassifierMetadata(JSON.parse(readFileSync(metaPath, "utf8")), metaPath);
    const stored = readStored(dir);
    const now = await computeProbeOutputs(readFileSync(join(dir, meta.modelFile)), meta.feature);
    // Stale after a retrain or a change to the probes: `npm run gen:analyzer-probes` rewrites it.
    expect(stored.modelSha256).toBe(now.modelSha256);
    expect(stored.probes.map((p) => [p.index, p.value])).toEqual(now.probes.map((p) => [p.index, p.value]));
    expect(maxOutputDiff(stored, now)).toBeLessThanOrEqual(1e-6);
  });

  it("lets the shipped model load on the JS evaluator without loading onnxruntime-node into the process", () => {
    // A fresh process: this one has loaded ONNX Runtime for the test above.
    const code = [
      'const { OnnxClassifier } = await import("./router/classify/onnx-classifier.ts");',
      "const c = await OnnxClassifier.load();",
      "const libs = process.report.getReport().sharedObjects;",
      'const ort = libs.some((l) => l.includes("onnxruntime"));',
      "console.log(JSON.stringify({ engine: c.engine, ort }));",
    ].join("\n");
    const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
      cwd: packageRoot(),
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(run.stderr).toBe("");
    const out = JSON.parse(run.stdout) as { engine: { kind: string; reason: string }; ort: boolean };
    expect(out.engine.kind).toBe("js");
    expect(out.engine.reason).toMatch(/on 14 probes stored with the model .*ONNX Runtime not loaded/);
    expect(out.ort).toBe(false);
  });

  it("decides for the JS evaluator from the stored outputs when they were written for the model", async () => {
    const dir = tmp();
    const meta = writeTinyAnalyzer(dir);
    await writeProbeOutputs(dir, meta.modelFile, meta.feature);
    const c = await OnnxClassifier.load({ modelDir: dir });
    expect(c.engine.kind).toBe("js");
    expect(c.engine.reason).toMatch(/stored with the model \(probe-outputs.json, max abs diff .*\); ONNX Runtime not/);
    expect(c.classify({ prompt: "Write a haiku.", system: "", totalChars: 14 })).not.toBeInstanceOf(Promise);
  });

  it("loads ONNX Runtime and compares there when the stored outputs are for other model bytes", async () => {
    const dir = tmp();
    const meta = writeTinyAnalyzer(dir);
    const file = await computeProbeOutputs(readFileSync(join(dir, meta.modelFile)), meta.feature);
    writeFileSync(join(dir, PROBE_OUTPUTS_FILE), JSON.stringify({ ...file, modelSha256: "0".repeat(64) }));
    const c = await OnnxClassifier.load({ modelDir: dir });
    expect(c.engine.kind).toBe("js");
    expect(c.engine.reason).toMatch(
      /agrees with ONNX Runtime on 14 probes .*; loaded ONNX Runtime: probe-outputs.json was computed for other model bytes/,
    );
  });

  it("loads ONNX Runtime and compares there when a stored output disagrees with the JS evaluator", async () => {
    const dir = tmp();
    const meta = writeTinyAnalyzer(dir);
    const file = await computeProbeOutputs(readFileSync(join(dir, meta.modelFile)), meta.feature);
    const [first, ...rest] = file.probes;
    if (first === undefined) throw new Error("no probes");
    const tampered = { ...first, taskProbs: first.taskProbs.map((p, j) => (j === 0 ? p + 0.01 : p)) };
    writeFileSync(join(dir, PROBE_OUTPUTS_FILE), JSON.stringify({ ...file, probes: [tampered, ...rest] }));
    const c = await OnnxClassifier.load({ modelDir: dir });
    expect(c.engine.kind).toBe("js");
    expect(c.engine.reason).toMatch(
      /loaded ONNX Runtime: the JS evaluator differs from the stored outputs by 0.01\d* /,
    );
  });

  it("loads ONNX Runtime when the model directory has no stored outputs, or unreadable ones", async () => {
    const dir = tmp();
    writeTinyAnalyzer(dir);
    const missing = await OnnxClassifier.load({ modelDir: dir });
    expect(missing.engine.reason).toMatch(/loaded ONNX Runtime: no probe-outputs.json$/);
    const broken = tmp();
    writeTinyAnalyzer(broken);
    writeFileSync(join(broken, PROBE_OUTPUTS_FILE), JSON.stringify({ schema: "other" }));
    const c = await OnnxClassifier.load({ modelDir: broken });
    expect(c.engine.reason).toMatch(/loaded ONNX Runtime: .*probe-outputs.json: schema is not/);
  });
});
