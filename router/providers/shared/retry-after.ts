/**
 * Parses `retry-after` (delta-seconds or HTTP-date, RFC 9110 §10.2.3) and the non-standard `retry-after-ms`
 * some OpenAI-compatible servers send. Returns milliseconds (≥ 0) or null when absent or unparsable.
 */
import type { IncomingHttpHeaders } from "node:http";

/** Parses one header value; `nowMs` is the clock used for an HTTP-date. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | null {
  if (value === undefined) return null;
  const trimmed = value.trim();
  if (trimmed.length === 0) return null;
  if (isDecimal(trimmed)) return Math.round(Number(trimmed) * 1000);
  if (!startsWithLetter(trimmed)) return null; // every HTTP-date form starts with a day name
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}

/** Reads `retry-after-ms` first (more precise), then `retry-after`. */
export function retryAfterFromHeaders(headers: IncomingHttpHeaders, nowMs: number): number | null {
  const ms = firstValue(headers["retry-after-ms"]);
  if (ms !== undefined && isDecimal(ms.trim())) return Math.round(Number(ms.trim()));
  return parseRetryAfter(firstValue(headers["retry-after"]), nowMs);
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Digits with at most one dot; no sign, exponent or hex (which `Number()` would accept). */
function isDecimal(s: string): boolean {
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) dots++;
    else if (c < 48 || c > 57) return false;
  }
  return s.length > dots && dots <= 1;
}

function startsWithLetter(s: string): boolean {
  const c = s.charCodeAt(0) | 0x20;
  return c >= 97 && c <= 122;
}
