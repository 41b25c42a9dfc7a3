import { isRecord } from "../../router/config/json.js";

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

/**
 * The longest duration any field takes. Node's timers hold at most 2^31-1 ms (~596 h) and fire at once past it,
 * which broke every request; the CRDs cap durations with the same value (a CEL rule on each duration field).
 */
export const MAX_DURATION = "24h";
export const MAX_DURATION_MS = 24 * 3_600_000;

/** The duration fields of each kind, by CRD path (duration.test.ts checks the list against crds/). */
export const DURATION_FIELDS = {
  ModelProvider: ["spec.timeouts.request", "spec.timeouts.connect", "spec.simulated.timeToFirstToken"],
  ModelRoute: [
    "spec.retry.backoff.base",
    "spec.retry.backoff.max",
    "spec.timeouts.request",
    "spec.timeouts.attempt",
    "spec.timeouts.firstToken",
    "spec.timeouts.streamIdle",
    "spec.circuitBreaker.cooldown",
    "spec.circuitBreaker.window",
  ],
} as const;

/** The fields of `object` (at `paths`) holding a duration longer than MAX_DURATION. */
export function overlongDurations(object: unknown, paths: readonly string[]): string[] {
  return paths.filter((path) => {
    const value = path.split(".").reduce<unknown>((v, key) => (isRecord(v) ? v[key] : undefined), object);
    const ms = typeof value === "string" ? parseDuration(value) : null;
    return ms !== null && ms > MAX_DURATION_MS;
  });
}
