/**
 * Rows in the schema of ../shared/data/unified/routing_unified.jsonl (see its README): one prompt, the score of
 * each model, and where known the cost of each call. Data enters as unknown and is validated here.
 */
import { isRecord } from "../../router/config/json.js";

export interface UnifiedRow {
  id: string;
  source: string;
  benchmark: string | null;
  subject: string | null;
  split: string;
  prompt: string;
  /** Model -> score in [0,1]; null = missing. */
  scores: Record<string, number | null>;
  costsUsd: Record<string, number | null> | null;
  pricePerMtok: Record<string, number> | null;
  tokens: Record<string, [number, number]> | null;
}

/** Output tokens assumed when a row has per-token prices but no token counts (llmrouter rows). */
export const ASSUMED_OUTPUT_TOKENS = 256;

export class RowError extends Error {
  override readonly name = "RowError";
}

type Obj = Record<string, unknown>;

function optString(o: Obj, key: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw new RowError(`field "${key}" must be a string or null`);
  return v;
}

function numberMap(v: unknown, key: string, allowNull: boolean): Record<string, number | null> | null {
  if (v === undefined || v === null) return null;
  if (!isRecord(v)) throw new RowError(`field "${key}" must be an object`);
  const out: Record<string, number | null> = {};
  for (const [model, value] of Object.entries(v)) {
    if (value === null && allowNull) out[model] = null;
    else if (typeof value === "number" && Number.isFinite(value)) out[model] = value;
    else throw new RowError(`field "${key}.${model}" must be a number${allowNull ? " or null" : ""}`);
  }
  return out;
}

function tokenMap(v: unknown): Record<string, [number, number]> | null {
  if (v === undefined || v === null) return null;
  if (!isRecord(v)) throw new RowError(`field "tokens" must be an object`);
  const out: Record<string, [number, number]> = {};
  for (const [model, value] of Object.entries(v)) {
    if (!Array.isArray(value) || value.length !== 2 || !value.every((x) => typeof x === "number")) {
      throw new RowError(`field "tokens.${model}" must be [input_tokens, output_tokens]`);
    }
    out[model] = [value[0] as number, value[1] as number];
  }
  return out;
}

/** Validates one parsed JSON value; throws RowError naming the bad field. */
export function parseUnifiedRow(raw: unknown): UnifiedRow {
  if (!isRecord(raw)) throw new RowError("row must be a JSON object");
  const id = raw["id"];
  if (typeof id !== "string" && typeof id !== "number") throw new RowError(`field "id" must be a string`);
  const prompt = raw["prompt"];
  if (typeof prompt !== "string") throw new RowError(`field "prompt" must be a string`);
  const scores = numberMap(raw["scores"], "scores", true);
  if (scores === null) throw new RowError(`field "scores" is required`);
  const prices = numberMap(raw["price_per_mtok"], "price_per_mtok", false);
  return {
    id: String(id),
    source: optString(raw, "source") ?? "",
    benchmark: optString(raw, "benchmark"),
    subject: optString(raw, "subject"),
    split: optString(raw, "split") ?? "",
    prompt,
    scores,
    costsUsd: numberMap(raw["costs_usd"], "costs_usd", true),
    pricePerMtok: prices as Record<string, number> | null,
    tokens: tokenMap(raw["tokens"]),
  };
}

/** Parses JSONL text; errors carry the 1-based line number. Blank lines are skipped. */
export function parseUnifiedJsonl(text: string, file: string): UnifiedRow[] {
  return parseJsonLines(text, file, parseUnifiedRow, (message) => new RowError(message));
}

/**
 * Each non-blank line of JSONL text through `parse`; a line that is not JSON, or that `parse` refuses, is the error
 * `fail` makes of `file:line: why` (with the refusal as its cause).
 */
export function parseJsonLines<T>(
  text: string,
  file: string,
  parse: (raw: unknown) => T,
  fail: (message: string, cause?: unknown) => Error,
): T[] {
  const rows: T[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]?.trim() ?? "";
    if (line.length === 0) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      throw fail(`${file}:${i + 1}: not valid JSON`);
    }
    try {
      rows.push(parse(raw));
    } catch (err) {
      throw fail(`${file}:${i + 1}: ${(err as Error).message}`, err);
    }
  }
  return rows;
}

/** USD for calling `model` on this row: recorded cost, else tokens x price, else prompt-length estimate x price. */
export function rowCost(row: UnifiedRow, model: string): number | null {
  const recorded = row.costsUsd?.[model];
  if (recorded !== undefined && recorded !== null) return recorded;
  const price = row.pricePerMtok?.[model];
  if (price === undefined) return null;
  const tokens = row.tokens?.[model];
  const total = tokens !== undefined ? tokens[0] + tokens[1] : Math.ceil(row.prompt.length / 4) + ASSUMED_OUTPUT_TOKENS;
  return (total * price) / 1e6;
}

/** Rows where both models have a score, as eval.ts PairRows, with the source rows they came from. */
export function pairRowsFor(
  rows: readonly UnifiedRow[],
  strong: string,
  weak: string,
): {
  rows: UnifiedRow[];
  pairs: { strong: number; weak: number; strongCost: number | null; weakCost: number | null }[];
} {
  const kept: UnifiedRow[] = [];
  const pairs: { strong: number; weak: number; strongCost: number | null; weakCost: number | null }[] = [];
  for (const row of rows) {
    const s = row.scores[strong];
    const w = row.scores[weak];
    if (s === undefined || s === null || w === undefined || w === null) continue;
    kept.push(row);
    pairs.push({ strong: s, weak: w, strongCost: rowCost(row, strong), weakCost: rowCost(row, weak) });
  }
  return { rows: kept, pairs };
}
