import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../router/config/package-root.js";
import {
  alertNames,
  contractMetricNames,
  knownMetricNames,
  metricNames,
  readRules,
  recordingRules,
  MEASURED_QUALITY_ADR_PATH,
  RULES_PATH,
  RULES_TEST_PATH,
} from "./dashboard.js";
import { findTool, run } from "./tools.js";

describe("routewise-rules.yaml", () => {
  it("passes promtool check rules", async () => {
    const r = await run(findTool("promtool"), ["check", "rules", join(packageRoot(), RULES_PATH)]);
    expect(r.stdout + r.stderr).toContain("SUCCESS");
    expect(r.code).toBe(0);
  });

  it("passes its promtool unit tests (every alert firing and not firing, every recording rule's value)", async () => {
    const r = await run(findTool("promtool"), ["test", "rules", join(packageRoot(), RULES_TEST_PATH)]);
    expect(r.stdout + r.stderr, r.stdout + r.stderr).toContain("SUCCESS");
    expect(r.code).toBe(0);
  });

  it("defines the recording rules and alerts the chart documents", () => {
    const rules = readRules();
    expect(recordingRules(rules)).toEqual(
      expect.arrayContaining([
        "routewise:savings_ratio:rate5m",
        "routewise:quality_retention:rate5m",
        "routewise:routing_duration_seconds:p50_5m",
      ]),
    );
    expect(alertNames(rules).sort()).toEqual([
      "RoutewiseAllCandidatesFailing",
      "RoutewiseBudgetNearlySpent",
      "RoutewiseConfigReloadFailing",
      "RoutewiseEvaluationFailing",
      "RoutewiseEvaluationPaused",
      "RoutewiseFallbackRateHigh",
      "RoutewiseLogLinesDropped",
      "RoutewiseMeasuredRetentionBelowObjective",
      "RoutewiseOperatorAbsent",
      "RoutewiseOperatorNotReconciling",
      "RoutewiseOperatorReconcileErrors",
      "RoutewiseQualityRetentionBelowTarget",
      "RoutewiseRouteUnavailable",
      "RoutewiseRoutersAbsent",
      "RoutewiseRoutingLatencyHigh",
      "RoutewiseStateStoreUnreachable",
    ]);
  });

  it("defines ADR 10's measured-quality recording rules under their exact names", () => {
    const adr = readFileSync(join(packageRoot(), MEASURED_QUALITY_ADR_PATH), "utf8");
    const named = [...new Set(adr.match(/routewise:[a-z0-9_]+:[a-z0-9_]+/g) ?? [])];
    expect(named).toHaveLength(8);
    expect(recordingRules(readRules())).toEqual(expect.arrayContaining(named));
    for (const alert of adr.match(/Routewise[A-Z][A-Za-z]+/g) ?? []) expect(alertNames(readRules())).toContain(alert);
  });

  it("reads only metrics the router or operator defines, or ADR 10 adds to the router", () => {
    const known = knownMetricNames();
    const used = readRules().groups.flatMap((g) => g.rules.flatMap((r) => metricNames(r.expr)));
    expect(used.length).toBeGreaterThan(5);
    expect(used.filter((n) => !known.has(n))).toEqual([]);
    expect(contractMetricNames().size).toBe(11);
  });
});
