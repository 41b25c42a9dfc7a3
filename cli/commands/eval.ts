import { readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import type { MultiReport, PairMetrics, PairReport } from "../../analyzer/eval/eval.js";
import { evaluateMulti, evaluatePair, pairReportSvg } from "../../analyzer/eval/eval.js";
import { OnnxClassifier } from "../../router/classify/onnx-classifier.js";
import type { UnifiedRow } from "../../analyzer/eval/unified-rows.js";
import { pairRowsFor, parseUnifiedJsonl, rowCost } from "../../analyzer/eval/unified-rows.js";
import { CliInputError, reportCliError } from "./classify.js";

export interface EvalOptions {
  data: string;
  /** Strong and weak model (pair mode); not needed with `models`. */
  strong?: string;
  weak?: string;
  json: boolean;
  plot?: string;
  split?: string;
  source?: string;
  model?: string;
  /** Comma-separated models for multi-model mode. */
  models?: string;
}

export function readRows(file: string): UnifiedRow[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new CliInputError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return parseUnifiedJsonl(text, file);
  } catch (err) {
    throw new CliInputError((err as Error).message);
  }
}

function filterRows(rows: readonly UnifiedRow[], opts: EvalOptions): UnifiedRow[] {
  return rows.filter(
    (r) =>
      (opts.split === undefined || r.split === opts.split) && (opts.source === undefined || r.source === opts.source),
  );
}

function checkModel(rows: readonly UnifiedRow[], model: string, file: string): void {
  if (!rows.some((r) => model in r.scores))
    throw new CliInputError(`${file}: model "${model}" has no scores in the selected rows`);
}

async function difficulties(rows: readonly UnifiedRow[], modelDir: string | undefined): Promise<number[]> {
  const classifier = await OnnxClassifier.load(modelDir === undefined ? { cacheSize: 0 } : { modelDir, cacheSize: 0 });
  const out: number[] = [];
  for (let i = 0; i < rows.length; i += 512) {
    const batch = rows.slice(i, i + 512).map((r) => ({ prompt: r.prompt, system: "", totalChars: r.prompt.length }));
    for (const c of await classifier.classifyUncached(batch)) out.push(c.difficulty);
  }
  return out;
}

const fmt = (v: number | null, pct: boolean): string =>
  v === null ? "n/a" : pct ? `${(v * 100).toFixed(1)}%` : v.toFixed(3);

export function pairReportText(r: PairReport, opts: EvalOptions & { strong: string; weak: string }): string {
  const cost = (c: number | null): string => (c === null ? "" : ` ($${(c * 1000).toFixed(3)} per 1k prompts)`);
  const cols: [string, PairMetrics][] = [
    ["router", r.router],
    ["prompt-length", r.promptLength],
    ["random", r.random],
    ["oracle", r.oracle],
  ];
  const rows: [string, (m: PairMetrics) => string][] = [
    ["APGR", (m) => fmt(m.apgr, false)],
    ["CPT(50%)", (m) => fmt(m.cpt50, true)],
    ["CPT(80%)", (m) => fmt(m.cpt80, true)],
    ["strong-call share @95%", (m) => fmt(m.strongShareAt95, true)],
    ["$ saving @95%", (m) => fmt(m.savingAt95, true)],
  ];
  const header = ["metric".padEnd(24), ...cols.map(([n]) => n.padStart(14))].join("");
  const body = rows.map(([name, f]) => [name.padEnd(24), ...cols.map(([, m]) => f(m).padStart(14))].join(""));
  return [
    `rows: ${r.n} (${opts.data}${opts.split === undefined ? "" : `, split=${opts.split}`}${opts.source === undefined ? "" : `, source=${opts.source}`})`,
    `strong ${opts.strong}: quality ${r.strongQuality.toFixed(4)}${cost(r.strongCost)}`,
    `weak   ${opts.weak}: quality ${r.weakQuality.toFixed(4)}${cost(r.weakCost)}`,
    header,
    ...body,
    "",
  ].join("\n");
}

function multiReportText(r: MultiReport): string {
  const lines = r.models.map(
    (m) => `  ${m.model.padEnd(40)} quality ${m.quality.toFixed(4)}  $${(m.cost * 1000).toFixed(3)}/1k`,
  );
  const at = (p: MultiReport["routerAt95"]): string =>
    p === null
      ? "not reached"
      : `quality ${p.quality.toFixed(4)}  $${(p.cost * 1000).toFixed(3)}/1k  saving ${(p.saving * 100).toFixed(1)}%`;
  return [
    "models:",
    ...lines,
    `best single: ${r.bestSingle.model}; ladder (cheapest first): ${r.ladder.join(" < ")}`,
    `router @95% of best single: ${at(r.routerAt95)}`,
    `random @95% of best single: ${at(r.randomAt95)}`,
    `oracle: quality ${r.oracle.quality.toFixed(4)}  $${(r.oracle.cost * 1000).toFixed(3)}/1k`,
    "",
  ].join("\n");
}

async function runMulti(rows: UnifiedRow[], opts: EvalOptions, models: string[]): Promise<void> {
  models.forEach((m) => {
    checkModel(rows, m, opts.data);
  });
  const usable = rows.filter((r) =>
    models.every((m) => r.scores[m] !== null && r.scores[m] !== undefined && rowCost(r, m) !== null),
  );
  if (usable.length === 0)
    throw new CliInputError(`${opts.data}: no row has scores and costs for all of ${models.join(", ")}`);
  const diff = await difficulties(usable, opts.model);
  const report = evaluateMulti(
    models,
    usable.map((r) => ({ scores: models.map((m) => r.scores[m] ?? 0), costs: models.map((m) => rowCost(r, m) ?? 0) })),
    diff,
  );
  process.stdout.write(opts.json ? JSON.stringify(report) + "\n" : multiReportText(report));
}

export async function runEval(opts: EvalOptions): Promise<void> {
  const rows = filterRows(readRows(opts.data), opts);
  if (opts.models !== undefined) {
    await runMulti(
      rows,
      opts,
      opts.models
        .split(",")
        .map((m) => m.trim())
        .filter((m) => m.length > 0),
    );
    return;
  }
  const { strong, weak } = opts;
  if (strong === undefined || weak === undefined)
    throw new CliInputError("--strong and --weak are required (or --models a,b,c for multi-model mode)");
  checkModel(rows, strong, opts.data);
  checkModel(rows, weak, opts.data);
  const { rows: kept, pairs } = pairRowsFor(rows, strong, weak);
  if (kept.length === 0) throw new CliInputError(`${opts.data}: no row scores both "${strong}" and "${weak}"`);
  const report = evaluatePair(
    pairs,
    await difficulties(kept, opts.model),
    kept.map((r) => r.prompt.length),
  );
  if (opts.plot !== undefined) writeFileSync(opts.plot, pairReportSvg(`${strong} vs ${weak}`, report));
  if (opts.json) {
    const summary: Partial<PairReport> = { ...report };
    delete summary.curves;
    process.stdout.write(JSON.stringify({ strong, weak, ...summary }) + "\n");
  } else {
    process.stdout.write(pairReportText(report, { ...opts, strong, weak }));
  }
}

export function registerEvalCommand(program: Command): void {
  program
    .command("eval")
    .description("Offline routing quality of the analyzer on rows in the shared unified schema (JSONL)")
    .requiredOption("--data <file>", "JSONL rows: {id, prompt, scores{model: score}, costs_usd?, price_per_mtok?, ...}")
    .option("--strong <model>", "strong model (as named in scores); required unless --models")
    .option("--weak <model>", "weak model; required unless --models")
    .option("--json", "print JSON instead of a table", false)
    .option("--plot <file.svg>", "write the cost-quality curves as SVG")
    .option("--split <name>", "only rows of this split (e.g. test)")
    .option("--source <name>", "only rows of this source")
    .option("--model <dir>", "classifier model directory (default: built-in)")
    .option("--models <a,b,c>", "multi-model mode: route among these models instead of strong/weak")
    .action(async (o: Record<string, unknown>) => {
      try {
        const opts: EvalOptions = { data: String(o["data"]), json: o["json"] === true };
        for (const key of ["strong", "weak", "plot", "split", "source", "model", "models"] as const) {
          const v = o[key];
          if (typeof v === "string") opts[key] = v;
        }
        await runEval(opts);
      } catch (err) {
        reportCliError(err);
      }
    });
}
