/** Narrowing helpers for JSON-like data that enters as `unknown`. Imported by the operator, the CLI and tests. */

/** A plain object (not null, not an array): a JSON object once parsed. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
