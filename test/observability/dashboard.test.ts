import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Ajv } from "ajv";
import { createGenerator } from "ts-json-schema-generator";
import { createRequire } from "node:module";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import {
  DASHBOARD_PATH,
  DASHBOARD_SCHEMA_PATH,
  dashboardQueries,
  knownMetricNames,
  metricNames,
  readJson,
  readsMeasuredQuality,
  substituteVariables,
} from "./dashboard.js";
import { findTool, run } from "./tools.js";

interface Variable {
  name: string;
  type: string;
  query?: unknown;
  current?: { value?: unknown };
}
interface Dashboard {
  schemaVersion: number;
  uid: string;
  templating: { list: Variable[] };
  panels: {
    id: number;
    type: string;
    title: string;
    datasource?: { uid?: string };
    targets?: unknown[];
    fieldConfig?: { defaults?: { min?: number; max?: number } };
  }[];
}

const ROUTE_FILTER = 'route=~"$route"';

const dashboard = readJson(DASHBOARD_PATH) as Dashboard;

/** Values a user could pick; any concrete value gives the same parse. */
const OFFLINE_VARIABLES: Record<string, string> = {
  __rate_interval: "1m",
  __interval: "15s",
  __range: "5m",
  namespace: ".*",
  route: ".*",
  retention_target: "0.95",
};

describe("Grafana dashboard", () => {
  it("is valid against the Grafana dashboard schema (@grafana/schema)", () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(readJson(DASHBOARD_SCHEMA_PATH) as object);
    expect(validate(dashboard), JSON.stringify(validate.errors, null, 2)).toBe(true);
  });

  it("uses a committed schema that matches the installed @grafana/schema", () => {
    const require = createRequire(import.meta.url);
    const pkg = dirname(require.resolve("@grafana/schema/package.json"));
    const fresh = createGenerator({
      path: join(pkg, "dist/types/raw/dashboard/x/types.gen.d.ts"),
      type: "Dashboard",
      skipTypeCheck: true,
    }).createSchema("Dashboard");
    const { $comment: _, ...committed } = readJson(DASHBOARD_SCHEMA_PATH) as Record<string, unknown>;
    expect(committed, "run: npx tsx scripts/gen-dashboard-schema.ts").toEqual(JSON.parse(JSON.stringify(fresh)));
  }, 30_000);

  it("has schemaVersion >= 39 and the datasource, namespace, route and retention_target variables", () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect(vars.get("datasource")).toMatchObject({ type: "datasource", query: "prometheus" });
    expect(vars.get("namespace")).toMatchObject({ type: "query" });
    expect(vars.get("route")).toMatchObject({ type: "query" });
    expect(vars.get("retention_target")?.current?.value).toBe("0.95");
  });

  it("queries through the datasource variable in every panel, with unique panel ids", () => {
    const panels = dashboard.panels.filter((p) => p.type !== "row");
    expect(panels.length).toBeGreaterThanOrEqual(20);
    for (const p of panels) expect(p.datasource?.uid).toBe("${datasource}");
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("reads only metrics the router or operator defines, or ADR 10 adds to the router", () => {
    const known = knownMetricNames();
    const used = dashboardQueries(dashboard).flatMap((q) => metricNames(q.expr));
    expect(used.filter((n) => !known.has(n))).toEqual([]);
  });

  it("filters every panel's queries by the route variable, but the operator's (its metrics have no route)", () => {
    const queries = dashboardQueries(dashboard);
    const operatorOnly = (panel: string): boolean => {
      const names = queries.filter((q) => q.panel === panel).flatMap((q) => metricNames(q.expr));
      return names.length > 0 && names.every((n) => n.startsWith("routewise_operator_"));
    };
    const panels = [...new Set(queries.map((q) => q.panel))];
    expect(panels.filter(operatorOnly)).toEqual(["Operator: time since last successful reconcile"]);
    const unfiltered = queries.filter((q) => !operatorOnly(q.panel) && !q.expr.includes(ROUTE_FILTER));
    expect(unfiltered.map((q) => `${q.panel} (${q.refId}): ${q.expr}`)).toEqual([]);
  });

  it("shows negative savings (no savings panel has min 0) and retention above 100% (no retention panel has a max)", () => {
    const withTargets = dashboard.panels.filter((p) => p.type !== "row");
    const savings = withTargets.filter((p) => /sav/i.test(p.title));
    const retention = withTargets.filter((p) => /retention/i.test(p.title));
    expect(savings.length).toBeGreaterThanOrEqual(7);
    expect(retention.length).toBeGreaterThanOrEqual(4);
    expect(savings.filter((p) => p.fieldConfig?.defaults?.min !== undefined).map((p) => p.title)).toEqual([]);
    expect(retention.filter((p) => p.fieldConfig?.defaults?.max !== undefined).map((p) => p.title)).toEqual([]);
  });

  it("says which retention panels are predicted and has measured-quality panels", () => {
    const titles = dashboard.panels.map((p) => p.title);
    const retention = titles.filter((t) => /retention/i.test(t));
    expect(retention.filter((t) => !/predicted|measured/i.test(t))).toEqual([]);
    const measured = dashboardQueries(dashboard).filter((q) => readsMeasuredQuality(q.expr));
    const reads = (name: string): boolean => measured.some((q) => q.expr.includes(name));
    for (const name of [
      "routewise:measured_retention:ratio1h",
      "routewise:measured_retention_lower_bound:ratio1h",
      "routewise_route_objective_retention",
      "routewise:evaluation_samples:increase1h",
      "routewise_evaluation_cost_usd_total",
      "routewise_evaluation_paused",
      "routewise_evaluation_failures_total",
      "routewise_feedback_total",
      "routewise:feedback_score:mean1h",
      "routewise:projected_savings_ratio:rate1h",
      "routewise:projected_saved_usd_per_hour:rate1h",
    ])
      expect(reads(name), name).toBe(true);
  });

  it("has PromQL that promtool parses once Grafana's variables are substituted", async () => {
    const rules = dashboardQueries(dashboard).map((q, i) => ({
      record: `dashboard:query_${i}`,
      expr: substituteVariables(q.expr, OFFLINE_VARIABLES),
    }));
    const dir = mkdtempSync(join(tmpdir(), "routewise-dashboard-"));
    try {
      writeFileSync(join(dir, "queries.yaml"), stringify({ groups: [{ name: "dashboard", rules }] }));
      const r = await run(findTool("promtool"), ["check", "rules", join(dir, "queries.yaml")]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
