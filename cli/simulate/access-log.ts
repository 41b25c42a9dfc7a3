/**
 * The access-log lines `routewise replay` reads: the router's pino JSON lines ("Served chat completion", written by
 * router/accounting/request-record.ts logServed). Lines with another `msg` are skipped. A served line must carry:
 *
 * | field             | meaning                                                                              |
 * | ----------------- | ------------------------------------------------------------------------------------ |
 * | `route`           | the route's model name                                                               |
 * | `provider`        | id of the provider that served it (`namespace/name`)                                 |
 * | `propensity`      | probability in (0,1] that the logging policy served this provider for this request   |
 * | `costUsd`         | what the request cost                                                                |
 * | `classification`  | `{task, domain, difficulty, confidence}` the analyzer gave the request               |
 * | `promptTokens`    | the request's estimated prompt tokens                                                |
 *
 * and may carry `baselineCostUsd` (the same tokens at the baseline's prices), `judged: {routed, baseline}` (judge
 * scores of the served and the baseline answer, any common scale) and `feedback` (a score in [0,1]).
 */
import { readFileSync } from "node:fs";
import type { Classification } from "../../router/classify/types.js";
import { isRecord } from "../../router/config/json.js";
import { DOMAINS, TASKS, type Domain, type Task } from "../../router/config/types.js";
import { CliError } from "../errors.js";

export const SERVED_MESSAGE = "Served chat completion";

export interface LoggedRequest {
  line: number;
  route: string;
  provider: string;
  propensity: number;
  costUsd: number;
  baselineCostUsd: number | null;
  classification: Classification;
  promptTokens: number;
  judged: { routed: number; baseline: number } | null;
  feedback: number | null;
}

type Obj = Record<string, unknown>;

function str(o: Obj, key: string): string {
  const v = o[key];
  if (typeof v !== "string" || v === "") throw new Error(`field "${key}" must be a non-empty string`);
  return v;
}

function num(o: Obj, key: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max)
    throw new Error(`field "${key}" must be a number in [${min}, ${max}]`);
  return v;
}

function optNum(o: Obj, key: string, min: number, max: number): number | null {
  return o[key] === undefined || o[key] === null ? null : num(o, key, min, max);
}

function classificationOf(v: unknown): Classification {
  if (!isRecord(v)) throw new Error(`field "classification" must be {task, domain, difficulty, confidence}`);
  const task = v["task"];
  const domain = v["domain"];
  if (!TASKS.includes(task as Task)) throw new Error(`field "classification.task" must be one of ${TASKS.join(", ")}`);
  if (!DOMAINS.includes(domain as Domain))
    throw new Error(`field "classification.domain" must be one of ${DOMAINS.join(", ")}`);
  return {
    task: task as Task,
    domain: domain as Domain,
    difficulty: num(v, "difficulty", 0, 1),
    confidence: num(v, "confidence", 0, 1),
    source: "access-log",
  };
}

function judgedOf(v: unknown): LoggedRequest["judged"] {
  if (v === undefined || v === null) return null;
  if (!isRecord(v)) throw new Error(`field "judged" must be {routed, baseline}`);
  return { routed: num(v, "routed", 0, Number.MAX_VALUE), baseline: num(v, "baseline", 0, Number.MAX_VALUE) };
}

export function parseLoggedRequest(o: Obj, line: number): LoggedRequest {
  const propensity = num(o, "propensity", 0, 1);
  if (propensity === 0) throw new Error(`field "propensity" must be above 0 (a served request had a chance)`);
  return {
    line,
    route: str(o, "route"),
    provider: str(o, "provider"),
    propensity,
    costUsd: num(o, "costUsd", 0, Number.MAX_VALUE),
    baselineCostUsd: optNum(o, "baselineCostUsd", 0, Number.MAX_VALUE),
    classification: classificationOf(o["classification"]),
    promptTokens: num(o, "promptTokens", 0, Number.MAX_SAFE_INTEGER),
    judged: judgedOf(o["judged"]),
    feedback: optNum(o, "feedback", 0, 1),
  };
}

/** Served lines of a JSONL access log; other log lines are counted as skipped; errors name file:line. */
export function parseAccessLog(text: string, file: string): { requests: LoggedRequest[]; skipped: number } {
  const requests: LoggedRequest[] = [];
  let skipped = 0;
  text.split("\n").forEach((raw, i) => {
    if (raw.trim() === "") return;
    let o: unknown;
    try {
      o = JSON.parse(raw);
    } catch {
      throw new CliError(`${file}:${i + 1}: not valid JSON`);
    }
    if (!isRecord(o)) throw new CliError(`${file}:${i + 1}: expected a JSON object`);
    if (o["msg"] !== undefined && o["msg"] !== SERVED_MESSAGE) {
      skipped++;
      return;
    }
    try {
      requests.push(parseLoggedRequest(o, i + 1));
    } catch (err) {
      throw new CliError(`${file}:${i + 1}: ${(err as Error).message}`, { cause: err });
    }
  });
  return { requests, skipped };
}

export function readAccessLog(file: string): { requests: LoggedRequest[]; skipped: number } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new CliError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseAccessLog(text, file);
}
