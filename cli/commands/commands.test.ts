import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { writeTinyAnalyzer } from "../../analyzer/onnx/tiny-analyzer.js";
import { readClassifyRows, registerClassifyCommand, runClassify } from "./classify.js";
import { registerEvalCommand, runEval } from "./eval.js";

const fixtures = join(import.meta.dirname, "..", "..", "test", "fixtures", "classify");
const fx = (name: string): string => join(fixtures, name);

function tinyModel(): string {
  const dir = mkdtempSync(join(tmpdir(), "rw-cli-"));
  writeTinyAnalyzer(dir);
  return dir;
}

async function runCli(args: string[]): Promise<{ stdout: string; stderr: string; code: number | undefined }> {
  let stdout = "";
  let stderr = "";
  const out = vi
    .spyOn(process.stdout, "write")
    .mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
  const err = vi
    .spyOn(process.stderr, "write")
    .mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    const program = new Command().exitOverride();
    registerClassifyCommand(program);
    registerEvalCommand(program);
    await program.parseAsync(["node", "routewise", ...args]);
    const code = process.exitCode;
    return { stdout, stderr, code: typeof code === "number" ? code : undefined };
  } finally {
    process.exitCode = before;
    out.mockRestore();
    err.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe("classify command", () => {
  it("prints one JSON line per row", async () => {
    const lines: string[] = [];
    await runClassify({ input: fx("prompts.jsonl"), model: tinyModel(), batch: 1 }, (s) => lines.push(s));
    const rows = lines
      .join("")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((r) => r["id"])).toEqual(["1", "2"]);
    expect(Object.keys(rows[0] ?? {})).toEqual(["id", "task", "domain", "difficulty", "confidence"]);
  });

  it("names file and line on bad input", () => {
    expect(() => readClassifyRows(fx("bad-json.jsonl"))).toThrow(/bad-json\.jsonl:2: not valid JSON/);
    expect(() => readClassifyRows(fx("bad-field.jsonl"))).toThrow(/bad-field\.jsonl:2: field "prompt"/);
  });

  it("exits 1 with a one-line error and no stack trace", async () => {
    const r = await runCli(["classify", "--input", fx("bad-json.jsonl"), "--model", tinyModel()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*bad-json\.jsonl:2: not valid JSON\n$/);
    const missing = await runCli(["classify", "--input", fx("nope.jsonl")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("nope.jsonl: cannot read (ENOENT)");
    expect(missing.stderr).not.toContain("    at ");
  });
});

describe("eval command", () => {
  it("prints router, prompt-length, random and oracle columns and writes a plot", async () => {
    const plot = join(mkdtempSync(join(tmpdir(), "rw-plot-")), "curve.svg");
    const r = await runCli([
      "eval",
      "--data",
      fx("rows.jsonl"),
      "--strong",
      "big",
      "--weak",
      "small",
      "--model",
      tinyModel(),
      "--plot",
      plot,
    ]);
    expect(r.code).toBeUndefined();
    expect(r.stdout).toMatch(/router\s+prompt-length\s+random\s+oracle/);
    expect(r.stdout).toMatch(/APGR\s+[\d.]+\s+[\d.]+\s+0\.500\s+0\.750/);
    expect(readFileSync(plot, "utf8")).toContain("<svg");
  });

  it("prints JSON with --json", async () => {
    const r = await runCli([
      "eval",
      "--data",
      fx("rows.jsonl"),
      "--strong",
      "big",
      "--weak",
      "small",
      "--model",
      tinyModel(),
      "--json",
    ]);
    const parsed = JSON.parse(r.stdout) as { random: { apgr: number }; n: number };
    expect(parsed.n).toBe(4);
    expect(parsed.random.apgr).toBeCloseTo(0.5, 9);
  });

  it("fails clearly on bad rows and unknown models", async () => {
    await expect(runEval({ data: fx("bad-json.jsonl"), strong: "a", weak: "b", json: false })).rejects.toThrow(
      /bad-json\.jsonl:1: field "scores" is required/,
    );
    const r = await runCli(["eval", "--data", fx("rows.jsonl"), "--strong", "gpt-9", "--weak", "small"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*rows\.jsonl: model "gpt-9" has no scores/);
  });

  it("asks for --strong and --weak unless --models is given", async () => {
    const r = await runCli(["eval", "--data", fx("rows.jsonl"), "--strong", "big"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--strong and --weak are required \(or --models/);
  });

  it("multi-model mode compares with the best single model", async () => {
    const r = await runCli(["eval", "--data", fx("rows.jsonl"), "--models", "small,big", "--model", tinyModel()]);
    expect(r.stdout).toContain("best single: big");
    expect(r.stdout).toContain("oracle: quality 1.0000");
  });
});
