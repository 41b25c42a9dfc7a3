/**
 * `math`: re-checks the arithmetic an answer shows. Every `expression = value` it writes (chains like
 * `2 + 3 = 5 * 2 = 10` step by step, and calculator annotations `<<48/2=24>>`) must hold, to the precision the
 * answer rounds to. The final answer ("The answer is …", "#### …", `\boxed{…}`, "Answer: …") must appear once
 * (or repeat the same value) and agree with the last value computed; for a math request it must be there.
 * Abstains on answers with no arithmetic and no final answer to a request that is not math.
 */
import { evaluate } from "./arithmetic.js";
import { abstain, accept, reject, type Verdict, type VerifyInput } from "./types.js";

export function verifyMath({ answer, task }: VerifyInput): Verdict {
  const text = normalise(answer.content);
  const steps = computations(text);
  if (!steps.every(holds)) return reject("arithmetic_wrong");
  const finals = finalAnswers(text);
  const final = finals[0];
  if (final !== undefined && finals.some((f) => !close(f, final))) return reject("conflicting_final_answers");
  if (final === undefined) {
    if (task === "math") return reject("final_answer_missing");
    return steps.length > 0 ? accept("arithmetic_checked") : abstain("no_arithmetic");
  }
  const last = steps[steps.length - 1];
  if (last && !close(final, last.shown)) return reject("final_answer_disagrees");
  return accept(steps.length > 0 ? "arithmetic_checked" : "final_answer_present");
}

function holds(s: Computation): boolean {
  return close(s.computed, s.shown, s.decimals) || (s.leading !== null && close(s.computed, s.leading));
}

export interface Computation {
  expression: string;
  computed: number;
  shown: number;
  /** Decimals the shown number is written with (rounding allowed to them); Infinity when it is an expression. */
  decimals: number;
  /** When the shown value is an expression, its leading number (accepted too: `2 + 3 = 5 * 2 = 10`). */
  leading: number | null;
}

/** Unicode and LaTeX operators, thousands separators and currency signs to plain arithmetic. */
export function normalise(text: string): string {
  return text
    .replace(/\\times|×|·|\\cdot/g, "*")
    .replace(/\\div|÷/g, "/")
    .replace(/−/g, "-")
    .replace(/(\d)\s+x\s+(?=[\d(])/g, "$1 * ")
    .replace(/(\d),(?=\d{3}\b)/g, "$1")
    .replace(/\\?\$/g, "");
}

const NUMBER = /^\s*\**\s*(-?\d+(?:\.\d+)?|-?\.\d+)/;
const EXPRESSION_TAIL = /[\d\s.+\-*/^()]+$/;
const HAS_OPERATION = /\d\s*\)*\s*(?:\*\*|[-+*/^])\s*\(*\s*-?\.?\d/;

/** Every `expression = value` the text shows (annotations included), in order. */
export function computations(text: string): Computation[] {
  const out: Computation[] = [];
  for (const m of text.matchAll(/<<([^<>=]+)=([^<>]+)>>/g)) push(out, m[1] ?? "", m[2] ?? "");
  const plain = text.replace(/<<[^<>]*>>/g, " ");
  for (const line of plain.split("\n")) lineComputations(out, line);
  return unique(out);
}

function lineComputations(out: Computation[], line: string): void {
  const parts = line.split(/(?<![<>=!])=(?!=)/);
  for (let i = 0; i + 1 < parts.length; i++) {
    const part = parts[i] ?? "";
    const left = EXPRESSION_TAIL.exec(part)?.[0] ?? "";
    if (!continuesWords(part.slice(0, part.length - left.length), left)) push(out, left, parts[i + 1] ?? "");
  }
}

/** `48/2 = <<48/2=24>>24` shows one step twice. */
function unique(steps: Computation[]): Computation[] {
  const seen = new Set<string>();
  return steps.filter((c) => {
    const key = `${c.expression.replace(/\s/g, "")}=${c.shown}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function push(out: Computation[], left: string, right: string): void {
  const expression = trimExpression(left);
  if (!HAS_OPERATION.test(expression)) return;
  const shown = rightValue(right);
  const computed = shown === null ? null : evaluate(expression);
  if (shown !== null && computed !== null) out.push({ expression, computed, ...shown });
}

const EXPRESSION_HEAD = /^[\d\s.+\-*/^()]*/;

/**
 * The value an `=` shows: a number (`= 7 apples`), or in a chain the next expression (`= 140 * 0.9 = 126` shows
 * 126 for the first step; its leading number is kept too, for the shorthand `2 + 3 = 5 * 2 = 10`). Null when the
 * right side is algebra (`= 240/x`, `= 5000(1 + r)`) or not a number.
 */
function rightValue(right: string): Pick<Computation, "shown" | "leading" | "decimals"> | null {
  const head = EXPRESSION_HEAD.exec(right)?.[0] ?? "";
  const expression = head.trim().replace(/[.\s]+$/, "");
  const n = NUMBER.exec(right)?.[1];
  if (n === undefined || /[-+*/^(]$/.test(expression)) return null;
  const number = { shown: Number(n), leading: null, decimals: (n.split(".")[1] ?? "").length };
  if (!HAS_OPERATION.test(expression)) return number;
  if (/^[\p{L}_(]/u.test(right.slice(head.length))) return null;
  const value = evaluate(expression);
  return value === null ? null : { shown: value, leading: Number(n), decimals: Number.POSITIVE_INFINITY };
}

/**
 * True when the arithmetic tail is the end of a longer expression with words or variables in it
 * (`x - y - 2 - x/2 + 1 = 5`, `total cost + 5 = …`): then it is algebra or prose, not a computation to check.
 */
function continuesWords(before: string, tail: string): boolean {
  const start = tail.trimStart();
  if (/^[+*/^)]/.test(start)) return true;
  if (/^[-(]/.test(start) && /[\p{L}\p{N}_)\]]\s*$/u.test(before)) return true;
  // `5000(1 + 0.025)` multiplies implicitly, `P(1 + r)` is a function: neither is checked.
  return /[\p{L}\p{N}_.)]$/u.test(before) && tail === start;
}

/** Drops what cannot start an expression (leading operators, closing parentheses, unbalanced opening ones). */
function trimExpression(raw: string): string {
  let e = raw.trim().replace(/^[+*/^)\s]+/, "");
  let depth = 0;
  for (const ch of e) depth += ch === "(" ? 1 : ch === ")" ? -1 : 0;
  while (depth > 0 && e.startsWith("(")) {
    e = e.slice(1).trim();
    depth--;
  }
  return e;
}

const FINAL_PATTERNS = [
  /####\s*\**\s*(-?\d+(?:\.\d+)?)/g,
  /\\boxed\{\s*(-?\d+(?:\.\d+)?)\s*\}/g,
  /\b(?:final answer|the answer)\s*(?:is|:|=)\s*[*_]*\s*(-?\d+(?:\.\d+)?)/gi,
  /^\s*[*_]*answer[*_]*\s*[:=]\s*[*_]*\s*(-?\d+(?:\.\d+)?)/gim,
];

/**
 * An answer with no stated final answer: a bare number, else its last concluding sentence ("Therefore, there are
 * 360 girls in the school.") when that sentence holds exactly one number.
 */
function impliedFinal(text: string): number | null {
  const bare = /^\s*[*_]*(-?\d+(?:\.\d+)?)[*_.]*\s*$/.exec(text);
  if (bare?.[1] !== undefined) return Number(bare[1]);
  const conclusions = [
    ...text.matchAll(
      /(?:^|[.!?\n]\s*)[*_]*(?:therefore|thus|so|hence|in total|in conclusion|finally)\b[^.!?\n]*(?:\.\d[^.!?\n]*)*/gi,
    ),
  ];
  const last = conclusions[conclusions.length - 1]?.[0] ?? "";
  const numbers = last.match(/-?\d+(?:\.\d+)?/g) ?? [];
  return numbers.length === 1 ? Number(numbers[0]) : null;
}

/** Numeric final answers stated, in order of appearance (each pattern's matches). */
export function finalAnswers(text: string): number[] {
  const found: { at: number; value: number }[] = [];
  for (const pattern of FINAL_PATTERNS)
    for (const m of text.matchAll(pattern)) found.push({ at: m.index, value: Number(m[1]) });
  if (found.length === 0) {
    const implied = impliedFinal(text);
    if (implied !== null) found.push({ at: 0, value: implied });
  }
  return found.sort((a, b) => a.at - b.at).map((f) => f.value);
}

/** Equal to the precision `shown` is written with (10/3 = 3.33 holds, 10/3 = 3 does not), or within 1e-6 relative. */
function close(computed: number, shown: number, decimals = decimalsOf(shown)): boolean {
  const rounding = decimals > 0 && Number.isFinite(decimals) ? 0.5 * 10 ** -decimals : 0;
  return Math.abs(computed - shown) <= Math.max(rounding, Math.abs(shown) * 1e-6, 1e-9);
}

function decimalsOf(n: number): number {
  return (String(n).split(".")[1] ?? "").length;
}
