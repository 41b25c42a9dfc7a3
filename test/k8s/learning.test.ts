/**
 * Learned quality in the cluster (ADR 12): a real API server, a real Prometheus (Debian's binary) scraping two
 * stand-in router replicas whose metrics are written by the router's own evaluation record and learning ledger,
 * and the operator reading them back, running router/learn's learner and SLO controller, and writing
 * `route.learned` into the gateway's ConfigMap and `status.learned` into the ModelRoute.
 *
 * The operator sums exact per-series increases (no extrapolation), so the table it writes must equal the one the
 * pure functions compute on the same labels in-process: no assertion depends on how fast Prometheus or the
 * machine is, only on waiting for the state to appear.
 */
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { RunningOperator } from "../../operator/main.js";
import { CONFIGMAP_NAME } from "../../router/config/delivery.js";
import type { CandidateOption } from "../../router/learn/controller.js";
import { evidenceOf, type LearningLabel } from "../../router/learn/evidence.js";
import { learnRoute } from "../../router/learn/route-learning.js";
import { applyYaml, installCrds, loadKubeConfig, testNamespace, waitFor } from "../harness/kube.js";
import { repoRoot } from "../harness/tools.js";
import { startLearningReplica, type LearningReplica } from "../observability/learning-replica.js";
import { startPrometheus, type RunningPrometheus } from "../observability/prometheus.js";
import { routerConfig, startOperator, statusOf } from "./operator-harness.js";

let kc: KubeConfig;
let replicas: LearningReplica[] = [];
let prometheus: RunningPrometheus;
const running: RunningOperator[] = [];

beforeAll(async () => {
  kc = loadKubeConfig(inject("kubeconfigPath"));
  await installCrds(kc, join(repoRoot, "crds"));
  replicas = await Promise.all([startLearningReplica(), startLearningReplica()]);
  prometheus = await startPrometheus({
    targets: replicas.map((r) => ({ job: "routewise-router", address: r.address })),
    ruleFiles: [],
  });
});

afterAll(async () => {
  await prometheus.stop();
  await Promise.all(replicas.map((r) => r.close()));
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((op) => op.stop()));
});

function policies(model: string): string {
  const provider = (name: string, score: number, price: number) => `apiVersion: routewise.dev/v1alpha1
kind: ModelProvider
metadata: { name: ${name} }
spec: { type: simulated, model: ${name}, pricing: { inputPerMillion: ${price}, outputPerMillion: ${price} }, quality: { score: ${score} } }
`;
  const route = `apiVersion: routewise.dev/v1alpha1
kind: ModelRoute
metadata: { name: ${model} }
spec:
  modelName: ${model}
  candidates: [{ name: small }, { name: big }]
  baseline: { name: big }
  objective: { minQualityRetention: 0.9 }
  evaluation: { judge: { name: big } }
  learning: { tags: [support], exploration: 0.1, window: 50 }
`;
  return [provider("big", 90, 10), provider("small", 70, 1), route].join("---\n");
}

/**
 * Judged requests of the route with exploration 0.1 over its two candidates, in tens: 6 easy support questions the
 * small model answered (9 against the baseline's 9.25), 3 hard code requests the baseline answered (10/10, no judge
 * call) and 1 hard one explored to the small model, which did badly (6 against 9).
 */
function traffic(ns: string, tens: number): LearningLabel[] {
  const [small, big] = [`${ns}/small`, `${ns}/big`];
  const easy: CandidateOption[] = [
    { provider: small, predicted: 0.95, cost: 0.1 },
    { provider: big, predicted: 1, cost: 1 },
  ];
  const hard: CandidateOption[] = [
    { provider: small, predicted: 0.85, cost: 0.1 },
    { provider: big, predicted: 1, cost: 1 },
  ];
  const label = (o: Partial<LearningLabel>): LearningLabel => ({
    segment: "support|qa|d1",
    model: "small",
    provider: small,
    baselineProvider: big,
    routed: 9,
    baseline: 9.25,
    propensity: 0.95,
    options: easy,
    baselineCost: 1,
    agreement: { ordered: true, disagreement: 0 },
    ...o,
  });
  const ten = [
    ...Array.from({ length: 6 }, (_, i) => label(i === 0 ? { agreement: { ordered: true, disagreement: 1 } } : {})),
    ...Array.from({ length: 3 }, () =>
      label({
        segment: "-|code|d3",
        model: "big",
        provider: big,
        routed: 10,
        baseline: 10,
        options: hard,
        agreement: null,
      }),
    ),
    label({ segment: "-|code|d3", routed: 6, baseline: 9, propensity: 0.05, options: hard }),
  ];
  return Array.from({ length: tens }, () => ten).flat();
}

async function configMapVersion(ns: string): Promise<string | undefined> {
  const cm = await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: CONFIGMAP_NAME, namespace: ns });
  return cm.metadata?.resourceVersion;
}

async function successfulReads(op: RunningOperator): Promise<number> {
  const text = await (await fetch(`${op.metricsUrl}/metrics`)).text();
  return Number(/routewise_operator_quality_reads_total\{result="success"\} (\d+)/.exec(text)?.[1] ?? 0);
}

describe("operator: learned quality from a real Prometheus (ADR 12)", () => {
  it("writes route.learned into the ConfigMap and status.learned, rewrites nothing while the evidence stays, and relearns when it grows", async () => {
    const ns = await testNamespace(kc, "learn");
    const model = `chat-${ns}`;
    const labels = traffic(ns, 6);
    // Two replicas' labels: the operator has to sum their series.
    replicas[0]!.record(model, labels.slice(0, 30));
    replicas[1]!.record(model, labels.slice(30));
    await applyYaml(kc, policies(model), ns);
    const op = await startOperator(kc, ns, {
      prometheusUrl: prometheus.url,
      qualityIntervalMs: 500,
      learningIntervalMs: 500,
    });
    running.push(op);
    await op.synced;

    const served = async () => (await routerConfig(kc, ns))?.routes.find((r) => r.name === model);
    await waitFor(async () => (await served())?.learned?.labels === 60, 60_000, { description: "60 labels learned" });
    const config = (await routerConfig(kc, ns))!;
    const route = config.routes.find((r) => r.name === model)!;
    const providers = new Map(config.providers.map((p) => [p.id, p]));
    // Exactly what the pure functions give on the same labels in-process.
    expect(route.learned).toEqual(learnRoute({ ...route, learned: null }, providers, evidenceOf(labels))?.learned);
    expect(route.learned?.entries.map((e) => [e.segment, e.provider, e.samples])).toEqual([
      ["-|code|d3", `${ns}/small`, 6],
      ["support|qa|d1", `${ns}/small`, 36],
    ]);
    // 0.85 would send the hard requests to the small model, which the explored labels show fails.
    expect(route.learned?.threshold).toBe(0.95);
    expect(route.learned?.flipRate).toBeGreaterThan(0);

    await waitFor(async () => (await statusOf(kc, "ModelRoute", ns, model)).status.learned?.labels === 60, 30_000, {
      description: "status.learned",
    });
    const status = (await statusOf(kc, "ModelRoute", ns, model)).status.learned!;
    expect(status).toMatchObject({ labels: 60, window: "15m", threshold: 0.95, segments: 2, entries: 2 });
    expect(status.points?.map((p) => [p.objective, p.met, p.threshold, p.savings])).toEqual([
      [0.9, true, 0.95, 0.54],
      [0.89, true, 0.95, 0.54],
      [0.88, true, 0.95, 0.54],
    ]);
    console.log(`route.learned: ${JSON.stringify(route.learned)}\nstatus.learned: ${JSON.stringify(status)}`);

    // The same evidence, read again and again: no ConfigMap write, no status write.
    const before = { cm: await configMapVersion(ns), route: await statusOf(kc, "ModelRoute", ns, model) };
    const reads = await successfulReads(op);
    await waitFor(async () => (await successfulReads(op)) >= reads + 4, 30_000, { description: "4 more reads" });
    expect(await configMapVersion(ns)).toBe(before.cm);
    expect((await routerConfig(kc, ns))?.hash).toBe(config.hash);
    expect((await statusOf(kc, "ModelRoute", ns, model)).resourceVersion).toBe(before.route.resourceVersion);

    // More evidence: a new table, a new hash.
    const more = traffic(ns, 2);
    replicas[0]!.record(model, more);
    await waitFor(async () => (await served())?.learned?.labels === 80, 60_000, { description: "80 labels learned" });
    const after = (await routerConfig(kc, ns))!;
    expect(after.hash).not.toBe(config.hash);
    const relearned = after.routes.find((r) => r.name === model)!;
    const expected = learnRoute({ ...relearned, learned: null }, providers, evidenceOf([...labels, ...more]));
    expect(relearned.learned).toEqual(expected?.learned);
    await waitFor(async () => (await statusOf(kc, "ModelRoute", ns, model)).status.learned?.labels === 80, 30_000, {
      description: "status.learned after more labels",
    });
    const later = (await statusOf(kc, "ModelRoute", ns, model)).status.learned!;
    expect(later.observedTime).not.toBe(status.observedTime);
    console.log(`after 20 more labels: hash ${config.hash} -> ${after.hash}; status.learned: ${JSON.stringify(later)}`);
  }, 180_000);
});
