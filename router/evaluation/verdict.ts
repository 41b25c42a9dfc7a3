/**
 * Parsing the judge's verdict. Anything but a JSON object with numeric `score_a` and `score_b` in [1,10] is
 * unparsable: a judge failure, never a score. Surrounding whitespace and a Markdown code fence are tolerated.
 */
export interface Verdict {
  scoreA: number;
  scoreB: number;
}

export const MIN_SCORE = 1;
export const MAX_SCORE = 10;

export function parseVerdict(text: string): Verdict | null {
  const body = stripFence(text.trim());
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  const a = v["score_a"];
  const b = v["score_b"];
  if (!isScore(a) || !isScore(b)) return null;
  return { scoreA: a, scoreB: b };
}

function isScore(x: unknown): x is number {
  return typeof x === "number" && Number.isFinite(x) && x >= MIN_SCORE && x <= MAX_SCORE;
}

function stripFence(text: string): string {
  const m = /^```(?:json)?\s*([\s\S]*?)\s*```$/.exec(text);
  return m?.[1] ?? text;
}
