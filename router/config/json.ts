/**
 * Helpers for JSON data that enters as `unknown`: narrowing, and naming the field a JSON Schema error is about.
 * Imported by the operator, the CLI and tests as well as the config gate.
 */
import type { ErrorObject } from "ajv";

/** A plain object (not null, not an array): a JSON object once parsed. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value when it is a string, else null. */
export function str(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

/** A finite number ≥ 0, else 0. */
export function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : 0;
}

/**
 * The field an ajv error is about, as a dotted path with [i] for array items (`spec.rules[0].pin[1]`), and a
 * message for it. Missing and unknown properties name the property itself.
 */
export function schemaFieldError(e: ErrorObject): { field: string; message: string } {
  const path = e.instancePath
    .split("/")
    .slice(1)
    .map((seg) => (/^\d+$/.test(seg) ? `[${seg}]` : `.${seg.replace(/~1/g, "/").replace(/~0/g, "~")}`))
    .join("")
    .replace(/^\./, "");
  if (e.keyword === "additionalProperties") {
    const extra = String((e.params as { additionalProperty?: unknown }).additionalProperty);
    return { field: path ? `${path}.${extra}` : extra, message: "unknown field" };
  }
  if (e.keyword === "required") {
    const missing = String((e.params as { missingProperty?: unknown }).missingProperty);
    return { field: path ? `${path}.${missing}` : missing, message: "is required" };
  }
  if (e.keyword === "enum") {
    const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues ?? [];
    return { field: path, message: `must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}` };
  }
  return { field: path, message: e.message ?? "is invalid" };
}
