import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { OnnxClassifier } from "../../router/classify/onnx-classifier.js";
import type { ClassifyInput } from "../../router/classify/types.js";

/** A row of `routewise classify --input`: {"id", "prompt", "system"?}. */
export interface ClassifyRow {
  id: string;
  input: ClassifyInput;
}

export class CliInputError extends Error {
  override readonly name = "CliInputError";
}

function parseRow(raw: unknown, where: string): ClassifyRow {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new CliInputError(`${where}: expected a JSON object`);
  const o = raw as Record<string, unknown>;
  const id = o["id"];
  const prompt = o["prompt"];
  const system = o["system"] ?? "";
  if (typeof id !== "string" && typeof id !== "number")
    throw new CliInputError(`${where}: field "id" must be a string or number`);
  if (typeof prompt !== "string") throw new CliInputError(`${where}: field "prompt" must be a string`);
  if (typeof system !== "string") throw new CliInputError(`${where}: field "system" must be a string`);
  return { id: String(id), input: { prompt, system, totalChars: prompt.length + system.length } };
}

/** Reads a JSONL file of {"id","prompt","system"?} rows; errors name the file and 1-based line. */
export function readClassifyRows(file: string): ClassifyRow[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new CliInputError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const rows: ClassifyRow[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim().length === 0) return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      throw new CliInputError(`${file}:${i + 1}: not valid JSON`);
    }
    rows.push(parseRow(raw, `${file}:${i + 1}`));
  });
  return rows;
}

export interface ClassifyOptions {
  input: string;
  model?: string;
  batch: number;
}

/** Classifies every row in batches and writes one JSON line per row. */
export async function runClassify(opts: ClassifyOptions, write: (line: string) => void): Promise<void> {
  const rows = readClassifyRows(opts.input);
  const classifier = await OnnxClassifier.load(
    opts.model === undefined ? { cacheSize: 0 } : { modelDir: opts.model, cacheSize: 0 },
  );
  for (let i = 0; i < rows.length; i += opts.batch) {
    const batch = rows.slice(i, i + opts.batch);
    const results = await classifier.classifyUncached(batch.map((r) => r.input));
    const out = batch.map((r, k) => {
      const c = results[k];
      return JSON.stringify({
        id: r.id,
        task: c?.task,
        domain: c?.domain,
        difficulty: c?.difficulty,
        confidence: c?.confidence,
      });
    });
    write(out.join("\n") + "\n");
  }
}

/** Prints a one-line error (never a stack trace) and sets exit code 1. */
export function reportCliError(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${message}\n`);
  process.exitCode = 1;
}

export function registerClassifyCommand(program: Command): void {
  program
    .command("classify")
    .description(
      "Classify prompts from a JSONL file ({id, prompt, system?} per line): task, domain, difficulty, confidence",
    )
    .requiredOption("--input <file>", "JSONL file of prompts")
    .option("--model <dir>", "model directory with metadata.json (default: the built-in model)")
    .option("--batch <n>", "rows per ONNX run", "256")
    .action(async (o: { input: string; model?: string; batch: string }) => {
      try {
        const batch = Number(o.batch);
        if (!Number.isInteger(batch) || batch < 1) throw new CliInputError(`--batch must be a positive integer`);
        const opts: ClassifyOptions = { input: o.input, batch };
        if (o.model !== undefined) opts.model = o.model;
        await runClassify(opts, (s) => process.stdout.write(s));
      } catch (err) {
        reportCliError(err);
      }
    });
}
