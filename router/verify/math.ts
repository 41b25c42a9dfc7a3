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
  if (steps.some((s) => !close(s.computed, s.shown))) return reject("arithmetic_wrong");
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

export interface Computation {
  expression: string;
  computed: number;
  shown: number;
}

/** Unicode and LaTeX operators, thousands separators and currency signs to plain arithmetic. */
export function normalise(text: string): string {
  return text
    .replace(/\\times|×|·|\\cdot/g, "*")
    .replace(/\\div|÷/g, "/")
    .replace(/−/g, "-")
    .replace(/(\d)\s+x\s+(?=\d)/g, "$1 * ")
    .replace(/(\d),(?=\d{3}\b)/g, "$1")
    .replace(/\$/g, "");
}

const NUMBER = /^\s*\**\s*(-?\d+(?:\.\d+)?|-?\.\d+)/;
const EXPRESSION_TAIL = /[\d\s.+\-*/^()]+$/;
const HAS_OPERATION = /\d\s*\)*\s*(?:\*\*|[-+*/^])\s*\(*\s*-?\.?\d/;

/** Every `expression = value` the text shows (annotations included), in order. */
export function computations(text: string): Computation[] {
  const out: Computation[] = [];
  for (const m of text.matchAll(/<<([^<>=]+)=([^<>]+)>>/g)) push(out, m[1] ?? "", m[2] ?? "");
  const plain = text.replace(/<<[^<>]*>>/g, " ");
  for (const line of plain.split("\n")) {
    const parts = line.split(/(?<![<>=!])=(?!=)/);
    for (let i = 0; i + 1 < parts.length; i++) {
      const left = EXPRESSION_TAIL.exec(parts[i] ?? "")?.[0] ?? "";
      push(out, left, parts[i + 1] ?? "");
    }
  }
  // `48/2 = <<48/2=24>>24` shows one step twice.
  const seen = new Set<string>();
  return out.filter((c) => {
    const key = `${c.expression.replace(/\s/g, "")}=${c.shown}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function push(out: Computation[], left: string, right: string): void {
  const expression = trimExpression(left);
  const shown = NUMBER.exec(right)?.[1];
  if (!HAS_OPERATION.test(expression) || shown === undefined) return;
  const computed = evaluate(expression);
  if (computed !== null) out.push({ expression, computed, shown: Number(shown) });
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

/** Numeric final answers stated, in order of appearance (each pattern's matches). */
export function finalAnswers(text: string): number[] {
  const found: { at: number; value: number }[] = [];
  for (const pattern of FINAL_PATTERNS)
    for (const m of text.matchAll(pattern)) found.push({ at: m.index, value: Number(m[1]) });
  const bare = /^\s*[*_]*(-?\d+(?:\.\d+)?)[*_.]*\s*$/.exec(text);
  if (found.length === 0 && bare?.[1] !== undefined) found.push({ at: 0, value: Number(bare[1]) });
  return found.sort((a, b) => a.at - b.at).map((f) => f.value);
}

/** Equal to the precision `shown` is written with (10/3 = 3.33 holds, 10/3 = 3 does not), or within 1e-6 relative. */
function close(computed: number, shown: number): boolean {
  const decimals = (String(shown).split(".")[1] ?? "").length;
  const rounding = decimals > 0 ? 0.5 * 10 ** -decimals : 0;
  return Math.abs(computed - shown) <= Math.max(rounding, Math.abs(shown) * 1e-6, 1e-9);
}
