/**
 * `refusal`: answers that decline, hedge, or say nothing. Rejects refusals near the start ("I'm sorry, but I
 * can't…", "I cannot help with…", "As an AI…"), hedges anywhere ("I'm not sure", "I don't know"), empty answers
 * with no tool call, answers a content filter stopped, and degenerate ones (the same words over and over).
 */
import { accept, reject, type Verdict, type VerifyInput } from "./types.js";

const REFUSAL =
  /\b(?:i(?:'m| am)\s+(?:sorry|afraid)\b[^.!?\n]{0,60}\b(?:can(?:not|'t)|unable|not able|won't)|i\s+(?:can(?:not|'t)|won't|will not|am unable to|'m unable to|am not able to)\s+(?:help|assist|provide|answer|comply|do that|fulfil|fulfill|complete|support)|as an ai\b)/i;
const HEDGE =
  /\b(?:i(?:'m| am) not (?:sure|certain)|i don't know|i do not know|i(?:'m| am) unsure|i can(?:not|'t) be (?:sure|certain))\b/i;
/** Refusals are looked for where answers put them: the opening. */
const OPENING_CHARS = 300;
const MIN_WORDS_FOR_REPETITION = 30;
const MIN_DISTINCT_RATIO = 0.25;

export function verifyRefusal({ answer }: VerifyInput): Verdict {
  const text = answer.content.replace(/[’‘]/g, "'");
  if (answer.finishReason === "content_filter") return reject("content_filter");
  if (text.trim() === "") return answer.toolCalls.length > 0 ? accept("tool_calls") : reject("empty");
  if (REFUSAL.test(text.slice(0, OPENING_CHARS))) return reject("refusal");
  if (HEDGE.test(text)) return reject("hedge");
  if (degenerate(text)) return reject("degenerate");
  return accept("answered");
}

/** Long answers whose words are mostly repeats, or a line repeated four or more times in a row. */
function degenerate(text: string): boolean {
  const words = text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
  if (words.length >= MIN_WORDS_FOR_REPETITION && new Set(words).size / words.length < MIN_DISTINCT_RATIO) return true;
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.length >= 10);
  let run = 1;
  for (let i = 1; i < lines.length; i++) {
    run = lines[i] === lines[i - 1] ? run + 1 : 1;
    if (run >= 4) return true;
  }
  return false;
}
