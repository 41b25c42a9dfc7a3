/**
 * The Helm chart against the run's real kube-apiserver: server-side dry runs of the default and all-features installs,
 * then a real apply, the operator running in-process as the chart's own ServiceAccount (TokenRequest) with the
 * chart's args, and the ConfigMap the chart's router Deployment mounts getting programmed.
 * No controller-manager or kubelet run here: Deployments never get pods, so the operator runs in this process.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AuthenticationV1TokenRequest,
  CoordinationV1Api,
  CoreV1Api,
  V1TokenRequestSpec,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
  type V1ServiceAccount,
} from "@kubernetes/client-node";
import { pino } from "pino";
import { afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { CONFIGMAP_NAME, configFromConfigMap } from "../../router/config/delivery.js";
import { runOperator, type RunningOperator } from "../../operator/main.js";
import type { RouterConfig } from "../../router/config/types.js";
import { apiObject, installCrds, kubeConfigForToken, kubectl, loadKubeConfig, testNamespace } from "../harness/kube.js";
import { repoRoot } from "../harness/tools.js";
import { waitFor } from "../harness/wait.js";
import { ALL_FEATURES, find, render, renderText } from "../helm/helm.js";
import { exampleYaml } from "./operator-harness.js";

let admin: KubeConfig;
let kubeconfigPath: string;
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  kubeconfigPath = inject("kubeconfigPath");
  admin = loadKubeConfig(kubeconfigPath);
  await installCrds(admin, join(repoRoot, "crds"));
  await installCrds(admin, join(repoRoot, "test", "fixtures", "monitoring-crds"));
});

afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

/** A release name unique in this cluster, so cluster-scoped objects (ClusterRole, binding) do not collide. */
function releaseName(): string {
  return `routewise-${randomBytes(3).toString("hex")}`;
}

function writeTemp(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "routewise-chart-")), "rendered.yaml");
  writeFileSync(file, text);
  return file;
}

async function applyRendered(text: string, dryRun: boolean): Promise<string> {
  const args = ["apply", "--server-side", "--force-conflicts", "--field-manager", "helm-test", "-f", writeTemp(text)];
  return (await kubectl(kubeconfigPath, dryRun ? [...args, "--dry-run=server"] : args)).stdout;
}

/** The options `routewise operator` derives from the Deployment's args (cli/commands/operator.ts). */
function operatorArgs(deployment: V1Deployment): { namespace: string; watch: string[]; leaderElect: boolean } {
  const args = deployment.spec?.template.spec?.containers[0]?.args ?? [];
  expect(args[0]).toBe("operator");
  const flag = (name: string): string | undefined =>
    args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return {
    namespace: flag("namespace") ?? "",
    watch: (flag("watch-namespaces") ?? "").split(",").filter((s) => s !== ""),
    leaderElect: !args.includes("--no-leader-elect"),
  };
}

async function tokenFor(sa: V1ServiceAccount): Promise<string> {
  const response = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name: sa.metadata?.name ?? "",
    namespace: sa.metadata?.namespace ?? "",
    body: apiObject(AuthenticationV1TokenRequest, {
      spec: apiObject(V1TokenRequestSpec, { audiences: [], expirationSeconds: 3600 }),
    }),
  });
  const token = response.status?.token;
  if (token === undefined || token === "") throw new Error("TokenRequest returned no token");
  return token;
}

describe("helm chart on a real API server (kubectl apply --dry-run=server)", () => {
  it("accepts the default install", async () => {
    const ns = await testNamespace(admin, "helm-default");
    const out = await applyRendered(await renderText([], ns, releaseName()), true);
    expect(out).toMatch(/deployment.apps\/routewise-\w+-router serverside-applied \(server dry run\)/);
    expect(out).toMatch(/horizontalpodautoscaler.autoscaling\/\S+ serverside-applied/);
  });

  it("accepts the all-features install (ServiceMonitors, PrometheusRule, dashboard, NetworkPolicies, examples)", async () => {
    const ns = await testNamespace(admin, "helm-all");
    const out = await applyRendered(await renderText(ALL_FEATURES, ns, releaseName()), true);
    for (const kind of [
      "servicemonitor.monitoring.coreos.com",
      "prometheusrule.monitoring.coreos.com",
      "networkpolicy.networking.k8s.io",
      "modelroute.routewise.dev/assistant",
      "configmap/",
    ])
      expect(out).toContain(kind);
  });
});

describe("helm chart installed for real, operator running as the chart's ServiceAccount", () => {
  it("programs the ConfigMap the chart's router Deployment mounts when an example policy is applied", async () => {
    const ns = await testNamespace(admin, "helm-install");
    const release = releaseName();
    const sets = [`operator.watchNamespaces={${ns}}`];
    const objects: KubernetesObject[] = await render(sets, ns, release);
    await applyRendered(await renderText(sets, ns, release), false);

    // What the chart tells the router to read: the projected ConfigMap behind --config.
    const router = find<V1Deployment>(objects, "Deployment", `${release}-router`);
    const podSpec = router.spec?.template.spec;
    const configVolume = podSpec?.volumes?.find((v) => v.name === "config");
    const configMapName = configVolume?.projected?.sources?.[0]?.configMap?.name ?? "";
    const secretName =
      podSpec?.volumes?.find((v) => v.name === "credentials")?.projected?.sources?.[0]?.secret?.name ?? "";
    expect(podSpec?.containers[0]?.args).toContain("--config=/etc/routewise/config");

    // The operator, as the chart runs it: its ServiceAccount's token and its Deployment's args.
    const operator = find<V1Deployment>(objects, "Deployment", `${release}-operator`);
    const args = operatorArgs(operator);
    expect(args).toEqual({ namespace: ns, watch: [ns], leaderElect: true });
    const sa = find<V1ServiceAccount>(objects, "ServiceAccount", operator.spec?.template.spec?.serviceAccountName);
    const asOperator = kubeConfigForToken(admin, await tokenFor(sa));
    const running: RunningOperator = await runOperator({
      kubeConfig: asOperator,
      namespace: args.namespace,
      watchNamespaces: args.watch,
      leaderElection: args.leaderElect,
      logger: pino({ level: process.env["ROUTEWISE_TEST_LOG"] ?? "silent" }),
      metricsHost: "127.0.0.1",
      metricsPort: 0,
      identity: "helm-test",
    });
    stops.push(() => running.stop());

    await kubectl(kubeconfigPath, [
      "apply",
      "-n",
      ns,
      "-f",
      writeTemp(exampleYaml("providers.yaml", "routes.yaml", "secret.yaml")),
    ]);
    await running.synced;
    // Read the ConfigMap by the name the Deployment's volume references, as the kubelet would.
    const core = admin.makeApiClient(CoreV1Api);
    const config = await waitFor(
      async () => {
        const cm = await core.readNamespacedConfigMap({ name: configMapName, namespace: ns }).catch(() => null);
        const text = cm === null ? null : configFromConfigMap(cm);
        const parsed = text === null ? null : (JSON.parse(text) as RouterConfig);
        return parsed !== null && parsed.routes.length === 3 ? parsed : null;
      },
      20_000,
      { description: `ConfigMap ${ns}/${configMapName} with the example routes` },
    );
    expect(configMapName).toBe(CONFIGMAP_NAME);
    expect(config.routes.map((r) => r.name)).toEqual(["assistant", "summarizer", "support-bot"]);
    const secret = await core.readNamespacedSecret({ name: secretName, namespace: ns });
    expect(Object.keys(secret.data ?? {})).toEqual([`${ns}.openai-gpt-4o-mini`]);
    const lease = await admin
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: "routewise-operator", namespace: ns });
    expect(lease.spec?.holderIdentity).toBe("helm-test");

    // The chart's RBAC grants nothing more: the same token cannot read other ConfigMaps or list pods.
    const denied = asOperator.makeApiClient(CoreV1Api);
    await expect(denied.readNamespacedConfigMap({ name: "kube-root-ca.crt", namespace: ns })).rejects.toThrow(
      /403|forbidden/i,
    );
    await expect(denied.listNamespacedPod({ namespace: ns })).rejects.toThrow(/403|forbidden/i);
  });

  it("keeps the CRDs on uninstall (helm.sh/resource-policy: keep on the applied CRDs)", async () => {
    const out = await kubectl(kubeconfigPath, ["get", "crd", "modelroutes.routewise.dev", "-o", "json"]);
    const crd = JSON.parse(out.stdout) as KubernetesObject;
    expect(crd.metadata?.annotations?.["helm.sh/resource-policy"]).toBe("keep");
  });
});
