/**
 * The everyday labelled set (analyzer/everyday/everyday.jsonl, see its README): requests as a new user would send
 * them, each with the task and domain a rule author would expect. An evaluation set only: training never reads it.
 * This module loads it (rows enter as unknown and are validated here) and scores a classifier's labels and
 * difficulty on it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Classification } from "../../router/classify/types.js";
import { isRecord } from "../../router/config/json.js";
import type { Domain, Task } from "../../router/config/types.js";
import { DOMAINS, TASKS } from "../../router/config/types.js";

export const EVERYDAY_KINDS = ["instruction", "question", "chat"] as const;
export type EverydayKind = (typeof EVERYDAY_KINDS)[number];
export const EVERYDAY_SPLITS = ["dev", "test"] as const;
export type EverydaySplit = (typeof EVERYDAY_SPLITS)[number];
export const DIFFICULTY_HINTS = ["easy", "medium", "hard"] as const;
export type DifficultyHint = (typeof DIFFICULTY_HINTS)[number];

export interface EverydayRow {
  id: string;
  /** dev: looked at while fixing the analyzer; test: only ever scored (see the README). */
  split: EverydaySplit;
  kind: EverydayKind;
  task: Task;
  domain: Domain;
  /** The writer's guess of how hard the request is for a small model (optional). */
  difficulty: DifficultyHint | null;
  prompt: string;
}

/** Where the set lives in the repository. */
export function everydayPath(root: string): string {
  return join(root, "analyzer", "everyday", "everyday.jsonl");
}

export class EverydayRowError extends Error {
  override readonly name = "EverydayRowError";
}

function oneOf<T extends string>(o: Record<string, unknown>, key: string, allowed: readonly T[]): T {
  const v = o[key];
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    throw new EverydayRowError(`field "${key}" must be one of ${allowed.join(", ")}`);
  }
  return v as T;
}

function text(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== "string" || v.trim() === "") throw new EverydayRowError(`field "${key}" must be a non-empty string`);
  return v;
}

export function parseEverydayRow(raw: unknown): EverydayRow {
  if (!isRecord(raw)) throw new EverydayRowError("row must be a JSON object");
  return {
    id: text(raw, "id"),
    split: oneOf(raw, "split", EVERYDAY_SPLITS),
    kind: oneOf(raw, "kind", EVERYDAY_KINDS),
    task: oneOf(raw, "task", TASKS),
    domain: oneOf(raw, "domain", DOMAINS),
    difficulty: raw["difficulty"] === undefined ? null : oneOf(raw, "difficulty", DIFFICULTY_HINTS),
    prompt: text(raw, "prompt"),
  };
}

/** Every row of the file, validated; an invalid line names its line number. */
export function loadEveryday(path: string): EverydayRow[] {
  const lines = readFileSync(path, "utf8").split("\n");
  const rows: EverydayRow[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    try {
      rows.push(parseEverydayRow(JSON.parse(line)));
    } catch (err) {
      throw new EverydayRowError(`${path}:${i + 1}: ${(err as Error).message}`, { cause: err });
    }
  });
  return rows;
}

/** Accuracy of one group of rows. */
export interface Accuracy {
  n: number;
  task: number;
  domain: number;
}

/** Quantiles of the calibrated difficulty over a group of rows. */
export interface DifficultyRange {
  n: number;
  min: number;
  p10: number;
  p25: number;
  median: number;
  p75: number;
  p90: number;
  max: number;
}

export interface EverydayReport {
  all: Accuracy;
  bySplit: Record<string, Accuracy>;
  byKind: Record<string, Accuracy>;
  /** Per labelled task: its rows' accuracy (task = recall of that task). */
  byTask: Record<string, Accuracy>;
  byDomain: Record<string, Accuracy>;
  /** Instruction rows of each split (the target is on these). */
  instructionsBySplit: Record<string, Accuracy>;
  /** The most frequent task errors, "label -> predicted". */
  taskConfusions: { label: string; predicted: string; n: number }[];
  domainConfusions: { label: string; predicted: string; n: number }[];
  /** Difficulty over the rows labelled with each task and classified as it (what a `tasks:` rule sees). */
  difficultyByTask: Record<string, DifficultyRange>;
  /** Difficulty of the code rows classified as code, per difficulty hint. */
  codeDifficultyByHint: Record<string, DifficultyRange>;
}

interface Scored {
  row: EverydayRow;
  c: Classification;
}

function accuracy(items: readonly Scored[]): Accuracy {
  const n = items.length;
  const task = items.filter((s) => s.c.task === s.row.task).length;
  const domain = items.filter((s) => s.c.domain === s.row.domain).length;
  return { n, task: n === 0 ? 0 : task / n, domain: n === 0 ? 0 : domain / n };
}

function groupBy(items: readonly Scored[], key: (s: Scored) => string): Map<string, Scored[]> {
  const out = new Map<string, Scored[]>();
  for (const s of items) {
    const k = key(s);
    const group = out.get(k);
    if (group === undefined) out.set(k, [s]);
    else group.push(s);
  }
  return new Map([...out].sort((a, b) => a[0].localeCompare(b[0])));
}

function accuracyBy(items: readonly Scored[], key: (s: Scored) => string): Record<string, Accuracy> {
  return Object.fromEntries([...groupBy(items, key)].map(([k, group]) => [k, accuracy(group)]));
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] ?? 0;
  const b = sorted[hi] ?? a;
  return a + (b - a) * (pos - lo);
}

export function difficultyRange(values: readonly number[]): DifficultyRange {
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number): number => Number(quantile(s, p).toFixed(4));
  return { n: s.length, min: q(0), p10: q(0.1), p25: q(0.25), median: q(0.5), p75: q(0.75), p90: q(0.9), max: q(1) };
}

function confusions(
  items: readonly Scored[],
  label: (s: Scored) => string,
  predicted: (s: Scored) => string,
): { label: string; predicted: string; n: number }[] {
  const wrong = items.filter((s) => label(s) !== predicted(s));
  return [...groupBy(wrong, (s) => `${label(s)}\t${predicted(s)}`)]
    .map(([k, group]) => {
      const [l = "", p = ""] = k.split("\t");
      return { label: l, predicted: p, n: group.length };
    })
    .sort((a, b) => b.n - a.n || a.label.localeCompare(b.label) || a.predicted.localeCompare(b.predicted))
    .slice(0, 10);
}

function rangesBy(items: readonly Scored[], key: (s: Scored) => string): Record<string, DifficultyRange> {
  return Object.fromEntries(
    [...groupBy(items, key)].map(([k, group]) => [k, difficultyRange(group.map((s) => s.c.difficulty))]),
  );
}

/** Scores `classifications` (one per row, in order) against the rows' labels. */
export function scoreEveryday(
  rows: readonly EverydayRow[],
  classifications: readonly Classification[],
): EverydayReport {
  if (rows.length !== classifications.length) throw new Error("one classification per everyday row expected");
  const items: Scored[] = rows.map((row, i) => ({ row, c: classifications[i] as Classification }));
  const rightTask = items.filter((s) => s.c.task === s.row.task);
  return {
    all: accuracy(items),
    bySplit: accuracyBy(items, (s) => s.row.split),
    byKind: accuracyBy(items, (s) => s.row.kind),
    byTask: accuracyBy(items, (s) => s.row.task),
    byDomain: accuracyBy(items, (s) => s.row.domain),
    instructionsBySplit: accuracyBy(
      items.filter((s) => s.row.kind === "instruction"),
      (s) => s.row.split,
    ),
    taskConfusions: confusions(
      items,
      (s) => s.row.task,
      (s) => s.c.task,
    ),
    domainConfusions: confusions(
      items,
      (s) => s.row.domain,
      (s) => s.c.domain,
    ),
    difficultyByTask: rangesBy(rightTask, (s) => s.row.task),
    codeDifficultyByHint: rangesBy(
      rightTask.filter((s) => s.row.task === "code"),
      (s) => s.row.difficulty ?? "none",
    ),
  };
}

/** The classifier's answers for the rows, in order, as the router would see them (prompt only, no system). */
export async function classifyEveryday(
  classifier: {
    classifyUncached(inputs: { prompt: string; system: string; totalChars: number }[]): Promise<Classification[]>;
  },
  rows: readonly EverydayRow[],
): Promise<Classification[]> {
  return classifier.classifyUncached(rows.map((r) => ({ prompt: r.prompt, system: "", totalChars: r.prompt.length })));
}
