/**
 * Structural comparison before any judge call (ADR 10): two answers with tool calls are the same quality when the
 * calls are identical (same names, arguments equal as parsed JSON); JSON-mode answers whose content parses to equal
 * JSON are the same quality. Anything else needs the judge.
 */
export type { ToolCall } from "../verify/types.js";
import type { ToolCall } from "../verify/types.js";

/** One side's answer as the evaluator compares it. */
export interface Answer {
  text: string;
  toolCalls: ToolCall[];
}

export type Structural = "equal" | "judge";

export function compareStructurally(a: Answer, b: Answer, jsonMode: boolean): Structural {
  if (a.toolCalls.length > 0 && b.toolCalls.length > 0)
    return sameToolCalls(a.toolCalls, b.toolCalls) ? "equal" : "judge";
  if (jsonMode && a.toolCalls.length === 0 && b.toolCalls.length === 0) {
    const x = parseJson(a.text);
    const y = parseJson(b.text);
    if (x !== undefined && y !== undefined && jsonEqual(x, y)) return "equal";
  }
  return "judge";
}

function sameToolCalls(a: ToolCall[], b: ToolCall[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((call, i) => {
    const other = b[i] as ToolCall;
    if (call.name !== other.name) return false;
    const x = parseJson(call.arguments);
    const y = parseJson(other.arguments);
    return x === undefined || y === undefined ? call.arguments === other.arguments : jsonEqual(x, y);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Deep equality of parsed JSON values (object key order ignored). */
export function jsonEqual(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  if (typeof x !== "object" || typeof y !== "object" || x === null || y === null) return false;
  if (Array.isArray(x) || Array.isArray(y)) return arraysEqual(x, y);
  const a = x as Record<string, unknown>;
  const b = y as Record<string, unknown>;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => k in b && jsonEqual(a[k], b[k]));
}

function arraysEqual(x: object, y: object): boolean {
  if (!Array.isArray(x) || !Array.isArray(y)) return false;
  return x.length === y.length && x.every((v, i) => jsonEqual(v, y[i]));
}
