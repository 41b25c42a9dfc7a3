/**
 * The recording rules the operator reads (docs/adr/0010-measured-quality.md, "Measured retention and its bound"),
 * and the instant queries that read them for a set of routes. Pure.
 */

/** The window every rule covers; written to status.quality.window and status.savings.window. */
export const QUALITY_WINDOW = "1h";

export const QUALITY_RULES = {
  samples: "routewise:evaluation_samples:increase1h",
  retention: "routewise:measured_retention:ratio1h",
  lowerBound: "routewise:measured_retention_lower_bound:ratio1h",
  savingsRatio: "routewise:savings_ratio:rate1h",
  savedUsdPerHour: "routewise:saved_usd_per_hour:rate1h",
  projectedSavingsRatio: "routewise:projected_savings_ratio:rate1h",
  projectedSavedUsdPerHour: "routewise:projected_saved_usd_per_hour:rate1h",
} as const;

export type QualityRule = keyof typeof QUALITY_RULES;

/** One instant query per rule, limited to the routes asked for (label `route` = the model name served). */
export function qualityQueries(routes: readonly string[]): Record<QualityRule, string> {
  const names = [...new Set(routes)].sort();
  const matcher = `{route=~${promString(names.map(escapeRegex).join("|"))}}`;
  const out = {} as Record<QualityRule, string>;
  for (const [rule, name] of Object.entries(QUALITY_RULES) as [QualityRule, string][]) out[rule] = name + matcher;
  return out;
}

/** RE2 metacharacters escaped, so a model name like `gpt-4o.mini` matches itself only. */
export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A PromQL double-quoted string literal. */
export function promString(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}
