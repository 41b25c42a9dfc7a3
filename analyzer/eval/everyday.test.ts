import { describe, expect, it } from "vitest";
import { OnnxClassifier } from "../../router/classify/onnx-classifier.js";
import { packageRoot } from "../../router/config/package-root.js";
import { DOMAINS, TASKS } from "../../router/config/types.js";
import { everydayRows } from "../train/everyday-templates.js";
import { rng } from "../train/rng.js";
import type { EverydayRow } from "./everyday.js";
import {
  classifyEveryday,
  EVERYDAY_KINDS,
  everydayPath,
  loadEveryday,
  parseEverydayRow,
  scoreEveryday,
} from "./everyday.js";

const rows = loadEveryday(everydayPath(packageRoot()));

describe("everyday labelled set", () => {
  it("covers every task, domain and kind with several hundred unique rows", () => {
    expect(rows.length).toBeGreaterThanOrEqual(400);
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    expect(new Set(rows.map((r) => r.prompt)).size).toBe(rows.length);
    expect([...new Set(rows.map((r) => r.task))].sort()).toEqual([...TASKS].sort());
    expect([...new Set(rows.map((r) => r.domain))].sort()).toEqual([...DOMAINS].sort());
    expect([...new Set(rows.map((r) => r.kind))].sort()).toEqual([...EVERYDAY_KINDS].sort());
  });

  it("rejects a row with an unknown task, naming the field", () => {
    expect(() =>
      parseEverydayRow({ id: "x", split: "dev", kind: "chat", task: "banter", domain: "general", prompt: "hi" }),
    ).toThrow(/field "task"/);
  });

  it("shares no prompt with the training templates", () => {
    const prompts = new Set(rows.map((r) => r.prompt.toLowerCase()));
    const generated = everydayRows(300, TASKS, rng(42));
    expect(generated.filter((g) => prompts.has(g.prompt.toLowerCase()))).toEqual([]);
  });
});

describe("shipped analyzer on everyday requests", () => {
  it("labels at least 90% of the instruction rows with the right task", async () => {
    const classifier = await OnnxClassifier.load({ cacheSize: 0 });
    const instructions: EverydayRow[] = rows.filter((r) => r.kind === "instruction");
    const report = scoreEveryday(instructions, await classifyEveryday(classifier, instructions));
    expect(report.all.n).toBeGreaterThanOrEqual(250);
    expect(report.all.task).toBeGreaterThanOrEqual(0.9);
  });
});
