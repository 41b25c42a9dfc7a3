import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../router/config/package-root.js";
import {
  alertNames,
  definedMetricNames,
  metricNames,
  readRules,
  recordingRules,
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
      "RoutewiseConfigReloadFailing",
      "RoutewiseFallbackRateHigh",
      "RoutewiseOperatorNotReconciling",
      "RoutewiseOperatorReconcileErrors",
      "RoutewiseQualityRetentionBelowTarget",
      "RoutewiseRouteUnavailable",
      "RoutewiseRoutingLatencyHigh",
    ]);
  });

  it("reads only metrics the router or operator defines", () => {
    const defined = definedMetricNames();
    const used = readRules().groups.flatMap((g) => g.rules.flatMap((r) => metricNames(r.expr)));
    expect(used.length).toBeGreaterThan(5);
    expect(used.filter((n) => !defined.has(n))).toEqual([]);
  });
});
