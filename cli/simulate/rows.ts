/**
 * Rows `routewise simulate` replays: the unified schema of ../shared/data/unified/ (see its README), extended with
 * an optional `responses: {model: text}` — each model's recorded answer, which lets a cascade's verifiers run on
 * what the cheap stage actually said. Data enters as unknown and is validated here; errors name file:line.
 */
import { readFileSync } from "node:fs";
import { parseJsonLines, parseUnifiedRow, type UnifiedRow } from "../../analyzer/eval/unified-rows.js";
import { isRecord } from "../../router/config/json.js";
import { CliError } from "../errors.js";

export interface SimRow extends UnifiedRow {
  /** Model -> recorded answer text, or null when the row has none. */
  responses: Record<string, string> | null;
}

function responsesOf(raw: Record<string, unknown>): Record<string, string> | null {
  const v = raw["responses"];
  if (v === undefined || v === null) return null;
  if (!isRecord(v)) throw new Error(`field "responses" must be an object of model -> answer text`);
  const out: Record<string, string> = {};
  for (const [model, text] of Object.entries(v)) {
    if (typeof text !== "string") throw new Error(`field "responses.${model}" must be a string`);
    out[model] = text;
  }
  return out;
}

function checkScores(row: UnifiedRow): void {
  for (const [model, s] of Object.entries(row.scores))
    if (s !== null && (s < 0 || s > 1)) throw new Error(`field "scores.${model}" must be in [0,1] (got ${s})`);
}

/** One row from one parsed JSON value; throws naming the bad field. */
export function parseSimRow(raw: unknown): SimRow {
  const row = parseUnifiedRow(raw);
  checkScores(row);
  return { ...row, responses: responsesOf(raw as Record<string, unknown>) };
}

/** JSONL text → rows; blank lines skipped; errors carry `file:line`. */
export function parseSimJsonl(text: string, file: string): SimRow[] {
  const rows = parseJsonLines(text, file, parseSimRow, (message, cause) => new CliError(message, { cause }));
  if (rows.length === 0) throw new CliError(`${file}: no rows`);
  return rows;
}

export function readSimRows(file: string): SimRow[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new CliError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseSimJsonl(text, file);
}
