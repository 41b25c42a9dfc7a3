const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** Parses a Go-style duration ("1m30s", "250ms", "1.5s") into milliseconds; null when malformed. */
export function parseDuration(text: string): number | null {
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) return null;
  let total = 0;
  for (const m of text.matchAll(PART)) total += Number(m[1]) * (UNIT_MS[m[2] ?? "ms"] ?? 1);
  return Math.round(total);
}

/** The duration in ms, or the default (a duration too) when the field is absent. The schema has checked the format. */
export function durationOr(text: string | undefined, fallback: string): number {
  const ms = (text === undefined ? null : parseDuration(text)) ?? parseDuration(fallback);
  if (ms === null) throw new Error(`default duration ${JSON.stringify(fallback)} is malformed`);
  return ms;
}
