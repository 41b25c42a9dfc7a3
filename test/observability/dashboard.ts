/** Reads the shipped Grafana dashboard and rule file, and turns their PromQL into queries Prometheus can run. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Registry } from "prom-client";
import { parse } from "yaml";
import { createOperatorMetrics } from "../../operator/metrics.js";
import { packageRoot } from "../../router/config/package-root.js";
import { createRouterMetrics } from "../../router/metrics/metrics.js";

export const DASHBOARD_PATH = "helm/routewise/dashboards/routewise.json";
export const RULES_PATH = "helm/routewise/rules/routewise-rules.yaml";
export const RULES_TEST_PATH = "helm/routewise/rules/routewise-rules.test.yaml";
export const DASHBOARD_SCHEMA_PATH = "test/fixtures/grafana/dashboard.schema.json";
export const MEASURED_QUALITY_ADR_PATH = "docs/adr/0010-measured-quality.md";
/** The rule group of ADR 10's measured-quality recording rules. */
export const MEASURED_QUALITY_GROUP = "routewise.measured-quality.rules";

export interface PanelQuery {
  panel: string;
  refId: string;
  expr: string;
}

interface RawTarget {
  expr?: unknown;
  refId?: unknown;
}
interface RawPanel {
  title?: unknown;
  type?: unknown;
  targets?: RawTarget[];
  panels?: RawPanel[];
}

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(join(packageRoot(), path), "utf8")) as unknown;
}

/** Every PromQL expression of every panel (rows included), in dashboard order. */
export function dashboardQueries(dashboard: unknown): PanelQuery[] {
  const panels = (dashboard as { panels?: RawPanel[] }).panels ?? [];
  const out: PanelQuery[] = [];
  const visit = (p: RawPanel): void => {
    for (const t of p.targets ?? []) {
      if (typeof t.expr === "string") out.push({ panel: String(p.title), refId: String(t.refId), expr: t.expr });
    }
    for (const child of p.panels ?? []) visit(child);
  };
  panels.forEach(visit);
  return out;
}

/** Grafana's variables replaced by concrete values, as Grafana would before sending a query. */
export function substituteVariables(expr: string, values: Record<string, string>): string {
  return expr.replace(
    /\$\{(\w+)(?::\w+)?\}|\$(\w+)/g,
    (whole, braced: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare ?? "";
      const value = values[name];
      if (value === undefined) throw new Error(`no value for the Grafana variable ${whole} in ${expr}`);
      return value;
    },
  );
}

export interface RuleFile {
  groups: { name: string; rules: ({ record: string; expr: string } | { alert: string; expr: string })[] }[];
}

export function readRules(): RuleFile {
  return parse(readFileSync(join(packageRoot(), RULES_PATH), "utf8")) as RuleFile;
}

export function recordingRules(rules: RuleFile): string[] {
  return rules.groups.flatMap((g) => g.rules.flatMap((r) => ("record" in r ? [r.record] : [])));
}

export function alertNames(rules: RuleFile): string[] {
  return rules.groups.flatMap((g) => g.rules.flatMap((r) => ("alert" in r ? [r.alert] : [])));
}

/** Metric names (not recording rules, which contain ':') a PromQL expression reads, without histogram suffixes. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "")
    .replace(/\{[^}]*\}/g, "");
  const names = bare.match(/\b(?:routewise|gen_ai)_[a-z0-9_]*[a-z0-9](?![:\w])/g) ?? [];
  return [...new Set(names.map((n) => n.replace(/_(bucket|sum|count)$/, "")))];
}

/** Every metric name the router and the operator define (prom-client registries, default metrics included). */
export function definedMetricNames(): Set<string> {
  const router = createRouterMetrics(new Registry());
  const operator = createOperatorMetrics(new Registry());
  const names = [router.registry, operator.registry].flatMap((r) => r.getMetricsAsArray().map((m) => m.name));
  return new Set(names);
}

/**
 * The metrics ADR 10 adds to the router (first column of its "Metrics" table; the `arm` row only labels existing
 * ones): the contract the rules and dashboard are written against while the router implements it.
 */
export function contractMetricNames(): Set<string> {
  const adr = readFileSync(join(packageRoot(), MEASURED_QUALITY_ADR_PATH), "utf8");
  const section = adr.slice(adr.indexOf("### Metrics"), adr.indexOf("### Measured retention"));
  return new Set([...section.matchAll(/^\| `(routewise_[a-z0-9_]+)`/gm)].map((m) => m[1] ?? ""));
}

/** Metrics a rule or panel may read: what the router and operator define, plus ADR 10's contract. */
export function knownMetricNames(): Set<string> {
  return new Set([...definedMetricNames(), ...contractMetricNames()]);
}

/**
 * Whether an expression reads measured quality (ADR 10): a contract metric or a rule of the measured-quality group.
 * Those are checked against stand-in replicas (measured-quality.test.ts), not the real router of prometheus.test.ts.
 */
export function readsMeasuredQuality(expr: string, rules: RuleFile = readRules()): boolean {
  const contract = contractMetricNames();
  const measured = recordingRules({ groups: rules.groups.filter((g) => g.name === MEASURED_QUALITY_GROUP) });
  // Rule names are [a-z0-9_:] only: nothing to escape.
  return (
    metricNames(expr).some((n) => contract.has(n)) ||
    measured.some((r) => new RegExp(`(^|[^\\w:])${r}(?![\\w:])`).test(expr))
  );
}
