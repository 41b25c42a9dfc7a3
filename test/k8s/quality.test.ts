/**
 * Measured quality in the cluster (ADR 10): a real API server, a real Prometheus (Debian's binary) scraping an
 * exposition endpoint whose counters the test sets, and the operator reading the ADR's recording rules from it.
 *
 * The rules here are test-local stand-ins with the ADR's names and math, computed from the raw counters (the
 * endpoint's counters are the window's sums), so no assertion depends on how fast Prometheus or the machine is.
 * helm/routewise/rules takes over once the real rules (increase/rate over 1h) and real routers exist.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { stringify } from "yaml";
import type { RunningOperator } from "../../operator/main.js";
import { startMetricsEndpoint, type MetricsEndpoint, type Series } from "../harness/metrics-endpoint.js";
import {
  applyYaml,
  installCrds,
  kubeConfigForToken,
  kubectl,
  loadKubeConfig,
  testNamespace,
  waitFor,
} from "../harness/kube.js";
import { repoRoot } from "../harness/tools.js";
import { startPrometheus, type RunningPrometheus } from "../observability/prometheus.js";
import {
  ensureGateway,
  installShippedRbac,
  routerConfig,
  startOperator,
  statusOf,
  waitForCondition,
  type StatusView,
} from "./operator-harness.js";

let kc: KubeConfig;
let kubeconfigPath: string;
let metrics: MetricsEndpoint;
let prometheus: RunningPrometheus;
const running: RunningOperator[] = [];

const by = "sum by (route)";
/** The ADR's rules over raw counters (n, S_r, S_b, S_rr, S_bb, S_rb as in "Measured retention and its bound"). */
const TEST_RULES = {
  groups: [
    {
      name: "routewise-quality-test",
      rules: [
        { record: "routewise:evaluation_samples:increase1h", expr: `${by} (routewise_evaluation_samples_total)` },
        { record: "test:sr", expr: `${by} (routewise_evaluation_score_total{side="routed"})` },
        { record: "test:sb", expr: `${by} (routewise_evaluation_score_total{side="baseline"})` },
        { record: "test:srr", expr: `${by} (routewise_evaluation_score_squared_total{side="routed"})` },
        { record: "test:sbb", expr: `${by} (routewise_evaluation_score_squared_total{side="baseline"})` },
        { record: "test:srb", expr: `${by} (routewise_evaluation_score_product_total)` },
        { record: "routewise:measured_retention:ratio1h", expr: "test:sr / (test:sb > 0)" },
        {
          record: "routewise:measured_retention_lower_bound:ratio1h",
          expr: `routewise:measured_retention:ratio1h - 1.645 * sqrt(clamp_min(
              routewise:evaluation_samples:increase1h / (routewise:evaluation_samples:increase1h - 1 > 0)
              * (test:srr - 2 * routewise:measured_retention:ratio1h * test:srb
                 + routewise:measured_retention:ratio1h ^ 2 * test:sbb) / test:sb ^ 2, 0))`,
        },
        {
          record: "routewise:savings_ratio:rate1h",
          expr: `1 - ${by} (routewise_cost_usd_total) / (${by} (routewise_baseline_cost_usd_total) > 0)`,
        },
        {
          record: "routewise:saved_usd_per_hour:rate1h",
          expr: `${by} (routewise_baseline_cost_usd_total) - ${by} (routewise_cost_usd_total)`,
        },
        {
          record: "routewise:projected_savings_ratio:rate1h",
          expr: `1 - ${by} (routewise_projected_cost_usd_total) / (${by} (routewise_baseline_cost_usd_total) > 0)`,
        },
        {
          record: "routewise:projected_saved_usd_per_hour:rate1h",
          expr: `${by} (routewise_baseline_cost_usd_total) - ${by} (routewise_projected_cost_usd_total)`,
        },
      ],
    },
  ],
};

beforeAll(async () => {
  kubeconfigPath = inject("kubeconfigPath");
  kc = loadKubeConfig(kubeconfigPath);
  await installCrds(kc, join(repoRoot, "crds"));
  metrics = await startMetricsEndpoint();
  const rules = join(mkdtempSync(join(tmpdir(), "routewise-quality-rules-")), "rules.yaml");
  writeFileSync(rules, stringify(TEST_RULES));
  prometheus = await startPrometheus({ targets: [{ job: "routers", address: metrics.address }], ruleFiles: [rules] });
});

afterAll(async () => {
  await prometheus.stop();
  await metrics.stop();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((op) => op.stop()));
});

async function operator(ns: string, o: { prometheusUrl?: string; qualityHoldMs?: number; as?: KubeConfig } = {}) {
  if (o.as) await ensureGateway(kc, ns);
  const op = await startOperator(o.as ?? kc, ns, {
    gateway: o.as === undefined,
    prometheusUrl: o.prometheusUrl ?? prometheus.url,
    qualityIntervalMs: 500,
    ...(o.qualityHoldMs === undefined ? {} : { qualityHoldMs: o.qualityHoldMs }),
  });
  running.push(op);
  await op.synced;
  return op;
}

/** The counters of `n` judge samples whose routed and baseline answers scored `routed` and `baseline` each. */
function judged(
  route: string,
  n: number,
  routed: number,
  baseline: number,
  cost = { cost: 2, baseline: 10 },
): Series[] {
  const m = { route, model: "small" };
  return [
    { name: "routewise_evaluation_samples_total", labels: m, value: n },
    { name: "routewise_evaluation_score_total", labels: { ...m, side: "routed" }, value: n * routed },
    { name: "routewise_evaluation_score_total", labels: { ...m, side: "baseline" }, value: n * baseline },
    { name: "routewise_evaluation_score_squared_total", labels: { ...m, side: "routed" }, value: n * routed ** 2 },
    { name: "routewise_evaluation_score_squared_total", labels: { ...m, side: "baseline" }, value: n * baseline ** 2 },
    { name: "routewise_evaluation_score_product_total", labels: m, value: n * routed * baseline },
    { name: "routewise_cost_usd_total", labels: { route }, value: cost.cost },
    { name: "routewise_baseline_cost_usd_total", labels: { route }, value: cost.baseline },
    { name: "routewise_projected_cost_usd_total", labels: { route }, value: cost.cost / 2 },
  ];
}

function policies(models: string[], extra = ""): string {
  const provider = (name: string, score: number, price: number) => `apiVersion: routewise.dev/v1alpha1
kind: ModelProvider
metadata: { name: ${name} }
spec: { type: simulated, model: ${name}, pricing: { inputPerMillion: ${price}, outputPerMillion: ${price} }, quality: { score: ${score} } }
`;
  const route = (model: string) => `apiVersion: routewise.dev/v1alpha1
kind: ModelRoute
metadata: { name: ${model} }
spec:
  modelName: ${model}
  candidates: [{ name: small }]
  baseline: { name: big }
  objective: { minQualityRetention: 0.9 }
  evaluation: { judge: { name: big } }
${extra}`;
  return [provider("big", 90, 10), provider("small", 70, 1), ...models.map(route)].join("---\n");
}

async function status(ns: string, name: string): Promise<StatusView> {
  return (await statusOf(kc, "ModelRoute", ns, name)).status;
}

async function servedMode(ns: string, model: string): Promise<string | undefined> {
  return (await routerConfig(kc, ns))?.routes.find((r) => r.name === model)?.rollout;
}

async function events(ns: string, name: string): Promise<{ reason: string; type: string; message: string }[]> {
  const list = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: ns });
  return list.items
    .filter((e) => e.involvedObject.kind === "ModelRoute" && e.involvedObject.name === name)
    .map((e) => ({ reason: e.reason ?? "", type: e.type ?? "", message: e.message ?? "" }));
}

async function successfulReads(op: RunningOperator): Promise<number> {
  const text = await (await fetch(`${op.metricsUrl}/metrics`)).text();
  return Number(/routewise_operator_quality_reads_total\{result="success"\} (\d+)/.exec(text)?.[1] ?? 0);
}

const modelOf = (ns: string, route: string) => `${route}-${ns}`;

describe("operator: measured quality in status (real Prometheus)", () => {
  it("writes status.quality and status.savings and moves QualityMet from InsufficientSamples to ObjectiveMet", async () => {
    const ns = await testNamespace(kc, "q-status");
    const model = modelOf(ns, "chat");
    metrics.setRoute(model, judged(model, 10, 9, 9));
    await applyYaml(kc, policies([model]), ns);
    await operator(ns);
    const ref = { kind: "ModelRoute" as const, namespace: ns, name: model };
    await waitFor(async () => (await status(ns, model)).quality?.samples === 10, 20_000, { description: "10 samples" });
    const insufficient = await waitForCondition(kc, ref, "QualityMet", {
      status: "Unknown",
      reason: "InsufficientSamples",
    });
    expect(insufficient.message).toBe("10 of 50 judge samples in the last 1h");
    expect(insufficient.observedGeneration).toBe(1);
    expect((await status(ns, model)).quality).toMatchObject({ samples: 10, retention: 1, lowerBound: 1, window: "1h" });

    metrics.setRoute(model, judged(model, 120, 9, 9));
    await waitForCondition(kc, ref, "QualityMet", { status: "True", reason: "ObjectiveMet" });
    const s = await status(ns, model);
    expect(s.quality).toMatchObject({ samples: 120, retention: 1, lowerBound: 1 });
    expect(s.savings).toEqual({ ratio: 0.8, usdPerHour: 8, basis: "measured", window: "1h" });
    expect(s.rollout).toMatchObject({ effectiveMode: "enforce", reason: "" });
    expect(s.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");

    const table = await kubectl(kubeconfigPath, ["get", "mr", model, "-n", ns]);
    const [header, row] = table.stdout
      .trim()
      .split("\n")
      .map((l) => l.trim().split(/\s+/));
    const column = (name: string) => row?.[header?.indexOf(name) ?? -1];
    expect([column("OBJECTIVE"), column("RETENTION"), column("SAVINGS"), column("ROLLOUT")]).toEqual([
      "0.9",
      "1",
      "0.8",
      "enforce",
    ]);
  });

  it("does not write status again when a read finds the same numbers (observedTime stays)", async () => {
    const ns = await testNamespace(kc, "q-quiet");
    const model = modelOf(ns, "chat");
    metrics.setRoute(model, judged(model, 60, 9, 9));
    await applyYaml(kc, policies([model]), ns);
    const op = await operator(ns);
    const ref = { kind: "ModelRoute" as const, namespace: ns, name: model };
    await waitForCondition(kc, ref, "QualityMet", { status: "True", reason: "ObjectiveMet" });
    const before = await statusOf(kc, "ModelRoute", ns, model);
    // Three more reads of the same numbers (the operator counts its reads) write nothing.
    const reads0 = await successfulReads(op);
    await waitFor(async () => (await successfulReads(op)) >= reads0 + 3, 20_000, { description: "3 more reads" });
    const after = await statusOf(kc, "ModelRoute", ns, model);
    expect(after.resourceVersion).toBe(before.resourceVersion);
    expect(after.status.quality?.observedTime).toBe(before.status.quality?.observedTime);
  });

  it("shadows a route whose measured retention stays low, with an Event, and restores it after a spec change", async () => {
    const ns = await testNamespace(kc, "q-shadow");
    const model = modelOf(ns, "low");
    metrics.setRoute(model, judged(model, 100, 5, 9));
    await applyYaml(kc, policies([model]), ns);
    // With the shipped ServiceAccount's RBAC: its status patches and Events must be allowed.
    await operator(ns, { as: kubeConfigForToken(kc, await installShippedRbac(kc, ns)) });
    const ref = { kind: "ModelRoute" as const, namespace: ns, name: model };
    const below = await waitForCondition(kc, ref, "QualityMet", { status: "False", reason: "QualityBelowObjective" });
    expect(below.message).toContain("is below the objective 0.9");
    await waitFor(async () => (await servedMode(ns, model)) === "shadow", 20_000, { description: "shadow served" });
    const s = await status(ns, model);
    expect(s.rollout).toMatchObject({ effectiveMode: "shadow", reason: "QualityBelowObjective", generation: 1 });
    // The next read after the shadow compile reads the projected savings rules.
    await waitFor(async () => (await status(ns, model)).savings?.basis === "projected", 20_000);
    expect((await status(ns, model)).savings?.ratio).toBe(0.9);
    await waitFor(async () => (await events(ns, model)).some((e) => e.reason === "QualityBelowObjective"), 10_000);
    expect((await events(ns, model)).find((e) => e.reason === "QualityBelowObjective")?.type).toBe("Warning");
    const table = await kubectl(kubeconfigPath, [
      "get",
      "mr",
      model,
      "-n",
      ns,
      "-o",
      "custom-columns=R:.status.rollout.effectiveMode",
    ]);
    expect(table.stdout).toContain("shadow");

    // The spec's new generation resets auto shadow; the hold (1 h) keeps the still-low route served as enforce.
    await applyYaml(kc, policies([model]).replace("minQualityRetention: 0.9", "minQualityRetention: 0.85"), ns);
    await waitFor(async () => (await servedMode(ns, model)) === "enforce", 20_000, { description: "enforce again" });
    expect((await status(ns, model)).rollout).toMatchObject({ effectiveMode: "enforce", reason: "", generation: 2 });
    for (const n of [101, 102, 103]) {
      metrics.setRoute(model, judged(model, n, 5, 9));
      await waitFor(async () => (await status(ns, model)).quality?.samples === n, 20_000);
    }
    expect(await servedMode(ns, model)).toBe("enforce");
    expect(await events(ns, model)).toContainEqual(
      expect.objectContaining({ reason: "AutoShadowReset", type: "Normal" }),
    );
  });

  it("resets auto shadow when routewise.dev/reset-auto-shadow gets a new value, and records it", async () => {
    const ns = await testNamespace(kc, "q-reset");
    const model = modelOf(ns, "low");
    metrics.setRoute(model, judged(model, 100, 5, 9));
    await applyYaml(kc, policies([model], "  rollout: { mode: canary, percent: 20 }\n"), ns);
    await operator(ns);
    await waitFor(async () => (await servedMode(ns, model)) === "shadow", 20_000, { description: "shadow served" });
    await kubectl(kubeconfigPath, ["annotate", "mr", model, "-n", ns, "routewise.dev/reset-auto-shadow=first"]);
    await waitFor(async () => (await servedMode(ns, model)) === "canary", 20_000, { description: "canary again" });
    const config = await routerConfig(kc, ns);
    expect(config?.routes.find((r) => r.name === model)?.canaryPercent).toBe(20);
    expect((await status(ns, model)).rollout).toMatchObject({ effectiveMode: "canary", resetValue: "first" });
  });
});

describe("operator: no metrics source", () => {
  it("says QualityMet Unknown/NoMetricsSource while Prometheus is unreachable, without leaking the URL's credentials", async () => {
    const ns = await testNamespace(kc, "q-unreachable");
    const model = modelOf(ns, "chat");
    await applyYaml(kc, policies([model]), ns);
    await operator(ns, { prometheusUrl: "http://reader:s3cret-pass@127.0.0.1:9/" });
    const ref = { kind: "ModelRoute" as const, namespace: ns, name: model };
    const c = await waitForCondition(kc, ref, "QualityMet", { status: "Unknown", reason: "NoMetricsSource" });
    expect(c.message).toMatch(/^cannot read Prometheus: query failed/);
    expect(JSON.stringify(await status(ns, model))).not.toContain("s3cret-pass");
    expect((await status(ns, model)).rollout?.effectiveMode).toBe("enforce");
  });
});
