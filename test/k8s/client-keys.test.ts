/**
 * Client keys as resources in the cluster (issue 17): a real API server, the operator under the shipped RBAC, and
 * a real Prometheus (Debian's binary) scraping an exposition endpoint whose routewise_spend_usd_total the test sets,
 * as the measured-quality suite does. A ModelClientKey becomes Programmed; its salted hash — never the key — is in
 * the gateway's ConfigMap; the gateway's Secret holds the salt and never the key; status.budget shows spend.
 */
import { createHash } from "node:crypto";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { join } from "node:path";
import type { RunningOperator } from "../../operator/main.js";
import { CLIENT_KEY_SALT_CREDENTIAL, CONFIGMAP_NAME } from "../../router/config/delivery.js";
import { startMetricsEndpoint, type MetricsEndpoint } from "../harness/metrics-endpoint.js";
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
  exampleYaml,
  installShippedRbac,
  routerConfig,
  secretValues,
  startOperator,
  statusOf,
  waitForCondition,
} from "./operator-harness.js";

let kc: KubeConfig;
let kubeconfigPath: string;
let metrics: MetricsEndpoint;
let prometheus: RunningPrometheus;
const running: RunningOperator[] = [];

beforeAll(async () => {
  kubeconfigPath = inject("kubeconfigPath");
  kc = loadKubeConfig(kubeconfigPath);
  await installCrds(kc, join(repoRoot, "crds"));
  metrics = await startMetricsEndpoint();
  prometheus = await startPrometheus({ targets: [{ job: "routers", address: metrics.address }], ruleFiles: [] });
});

afterAll(async () => {
  await prometheus.stop();
  await metrics.stop();
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((op) => op.stop()));
});

/** The operator in `ns`, as its shipped ServiceAccount (least privilege), with or without Prometheus. */
async function operator(ns: string, o: { prometheus?: boolean } = {}): Promise<RunningOperator> {
  const token = await installShippedRbac(kc, ns);
  await applyYaml(
    kc,
    "apiVersion: routewise.dev/v1alpha1\nkind: ModelGateway\nmetadata: { name: routewise }\nspec: {}\n",
    ns,
  );
  const op = await startOperator(kubeConfigForToken(kc, token), ns, {
    gateway: false,
    ...(o.prometheus ? { prometheusUrl: prometheus.url, qualityIntervalMs: 500 } : {}),
  });
  running.push(op);
  await op.synced;
  return op;
}

function keyYaml(name: string, value: string | null, spec = "routes: ['*']"): string {
  const secret =
    value === null
      ? ""
      : `apiVersion: v1\nkind: Secret\nmetadata: { name: ${name}-key }\nstringData: { apiKey: ${value} }\n---\n`;
  return `${secret}apiVersion: routewise.dev/v1alpha1
kind: ModelClientKey
metadata:
  name: ${name}
  labels: { team: search }
spec:
  secretRef: { name: ${name}-key }
  ${spec}
`;
}

const digest = (salt: string, key: string) =>
  createHash("sha256")
    .update(salt + key)
    .digest("hex");

describe("operator: ModelClientKeys", () => {
  it("programs a key as its salted hash, keeps the key out of the ConfigMap and Secret, and the salt across restarts", async () => {
    const ns = await testNamespace(kc, "ck-programmed");
    const value = `rw-${ns}-SECRET-KEY-value`;
    await applyYaml(kc, exampleYaml("providers.yaml", "routes.yaml"), ns);
    await applyYaml(kc, keyYaml("bot", value, "routes: [assistant]\n  budget: { usd: 5, period: month }"), ns);
    const op = await operator(ns);
    const ref = { kind: "ModelClientKey" as const, namespace: ns, name: "bot" };
    const programmed = await waitForCondition(kc, ref, "Programmed", { status: "True", reason: "Programmed" });
    expect(programmed.observedGeneration).toBe(1);
    const { status } = await statusOf(kc, "ModelClientKey", ns, "bot");
    expect(status.conditions?.map((c) => [c.type, c.status])).toEqual([
      ["Accepted", "True"],
      ["ResolvedRefs", "True"],
      ["Programmed", "True"],
      ["Ready", "True"],
    ]);
    expect(status.parents?.[0]?.parentRef).toEqual({ namespace: ns, name: "routewise" });
    // Without a Prometheus: the period, no spend.
    expect(Object.keys(status.budget ?? {}).sort()).toEqual(["period", "periodStart"]);

    const config = await routerConfig(kc, ns);
    const salt = config?.clientKeys?.salt ?? "";
    expect(config?.version).toBe("routewise.dev/router-config/v2");
    expect(config?.clientKeys?.keys).toEqual([
      {
        name: `${ns}/bot`,
        team: "search",
        sha256: digest(salt, value),
        routes: ["assistant"],
        budget: { usd: 5, period: "month", onExhausted: "degrade", degradeAt: 0.8 },
      },
    ]);
    const cm = await kc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: CONFIGMAP_NAME, namespace: ns });
    expect(JSON.stringify(cm)).not.toContain(value);
    const secret = await secretValues(kc, ns);
    expect(secret[CLIENT_KEY_SALT_CREDENTIAL]).toBe(salt);
    expect(Object.values(secret)).not.toContain(value);
    expect(JSON.stringify(secret)).not.toContain(value);

    // A restarted operator keeps the salt, so the same policies give the same config.
    const hash = config?.hash;
    await op.stop();
    running.splice(0);
    await operator(ns);
    expect((await routerConfig(kc, ns))?.hash).toBe(hash);
    expect((await secretValues(kc, ns))[CLIENT_KEY_SALT_CREDENTIAL]).toBe(salt);

    const table = await kubectl(kubeconfigPath, ["get", "mck", "bot", "-n", ns]);
    expect(table.stdout).toMatch(/TEAM\s+ROUTES\s+BUDGET\s+PERIOD\s+SPENT\s+READY/);
    expect(table.stdout).toMatch(/search\s+\["assistant"\]\s+5\s+month\s+True/);
  });

  it("reports ResolvedRefs=False/SecretNotFound without the key's Secret, then programs it once the Secret exists", async () => {
    const ns = await testNamespace(kc, "ck-secret");
    await applyYaml(kc, exampleYaml("providers.yaml", "routes.yaml"), ns);
    await applyYaml(kc, keyYaml("bot", null), ns);
    await operator(ns);
    const ref = { kind: "ModelClientKey" as const, namespace: ns, name: "bot" };
    const refs = await waitForCondition(kc, ref, "ResolvedRefs", { status: "False", reason: "SecretNotFound" });
    expect(refs.message).toBe(`spec.secretRef.name: Secret ${ns}/bot-key not found`);
    // The gateway has a key, none usable: the routers require a key and accept none.
    expect((await routerConfig(kc, ns))?.clientKeys?.keys).toEqual([]);
    const value = `rw-${ns}-LATE-SECRET-value`;
    await applyYaml(
      kc,
      `apiVersion: v1\nkind: Secret\nmetadata: { name: bot-key }\nstringData: { apiKey: ${value} }\n`,
      ns,
    );
    await waitForCondition(kc, ref, "Ready", { status: "True" });
    expect((await routerConfig(kc, ns))?.clientKeys?.keys.map((k) => k.name)).toEqual([`${ns}/bot`]);
    const { status } = await statusOf(kc, "ModelClientKey", ns, "bot");
    expect(JSON.stringify(status)).not.toContain(value);
  });

  it("shows this period's spend of a key and a route from Prometheus in status.budget", async () => {
    const ns = await testNamespace(kc, "ck-spend");
    const model = `assistant-${ns}`;
    const routes = exampleYaml("routes.yaml").replace("modelName: assistant", `modelName: ${model}`);
    await applyYaml(kc, exampleYaml("providers.yaml"), ns);
    await applyYaml(kc, routes, ns);
    await kubectl(kubeconfigPath, [
      "patch",
      "mr",
      "assistant",
      "-n",
      ns,
      "--type=merge",
      "-p",
      '{"spec":{"budget":{"usd":2,"period":"month"}}}',
    ]);
    await applyYaml(
      kc,
      keyYaml("bot", `rw-${ns}-SPEND-KEY-value`, "routes: ['*']\n  budget: { usd: 1, period: month }"),
      ns,
    );
    // The routers' counters start at 0 (their first request) and are scraped a dozen times before any spend, so
    // Prometheus' increase() over the month has no extrapolation worth a cent (≤ 1.1/12 of the spend).
    const series = (key: number, route: number) => [
      { name: "routewise_spend_usd_total", labels: { scope: "key", name: `${ns}/bot` }, value: key },
      { name: "routewise_spend_usd_total", labels: { scope: "route", name: model }, value: route },
    ];
    metrics.setRoute(ns, series(0, 0));
    await prometheus.waitFor(
      "12 scrapes of the spend counters",
      async () => {
        const r = await prometheus.query(`count_over_time(routewise_spend_usd_total{name="${ns}/bot"}[10m])`);
        return Number(r[0]?.value[1] ?? 0) >= 12;
      },
      60_000,
    );
    await operator(ns, { prometheus: true });
    metrics.setRoute(ns, series(0.42, 1.5));
    const key = await waitFor(
      async () => {
        const b = (await statusOf(kc, "ModelClientKey", ns, "bot")).status.budget;
        return b?.spentUsd !== undefined && b.spentUsd >= 0.42 ? b : undefined;
      },
      30_000,
      { description: "the key's spend in status.budget" },
    );
    expect(key.spentUsd).toBeLessThanOrEqual(0.46);
    expect(key.remainingUsd).toBeCloseTo(1 - (key.spentUsd ?? 0), 2);
    expect(key.period).toBe("month");
    const now = new Date();
    expect(key.periodStart).toBe(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString());
    const route = await waitFor(
      async () => {
        const b = (await statusOf(kc, "ModelRoute", ns, "assistant")).status.budget;
        return b?.spentUsd !== undefined && b.spentUsd >= 1.5 ? b : undefined;
      },
      30_000,
      { description: "the route's spend in status.budget" },
    );
    expect(route.spentUsd).toBeLessThanOrEqual(1.64);
    const table = await kubectl(kubeconfigPath, ["get", "mck", "bot", "-n", ns]);
    expect(table.stdout).toMatch(/SPENT/);
    expect(table.stdout).toMatch(new RegExp(`month\\s+${key.spentUsd}\\s+True`));
  });
});
