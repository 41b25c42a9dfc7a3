/**
 * The Helm chart against the run's real kube-apiserver: server-side dry runs of the default and all-features installs,
 * then a real apply, the operator running in-process as the chart's own ServiceAccount (TokenRequest) with the
 * chart's args, and the ConfigMap the chart's router Deployment mounts getting programmed.
 * No scheduler or kubelet run here (kube-controller-manager runs only the garbage collector and the namespace
 * controller): Deployments never get pods, so the operator runs in this process.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AuthenticationV1TokenRequest,
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
  V1ResourceAttributes,
  V1SubjectAccessReview,
  V1SubjectAccessReviewSpec,
  V1TokenRequestSpec,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
  type V1ServiceAccount,
} from "@kubernetes/client-node";
import { pino } from "pino";
import { afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { CONFIGMAP_NAME, CREDENTIALS_SECRET_NAME, configFromConfigMap } from "../../router/config/delivery.js";
import { runOperator, type RunningOperator } from "../../operator/main.js";
import type { RouterConfig } from "../../router/config/types.js";
import { apiObject, installCrds, kubeConfigForToken, kubectl, loadKubeConfig, testNamespace } from "../harness/kube.js";
import { repoRoot } from "../harness/tools.js";
import { waitFor } from "../harness/wait.js";
import { ALL_FEATURES, find, render, renderText } from "../helm/helm.js";
import { credentials, exampleYaml, routerConfig } from "./operator-harness.js";

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

/** The operator, as the chart runs it: its ServiceAccount's token and its Deployment's args, in this process. */
async function chartOperator(
  objects: readonly KubernetesObject[],
  release: string,
): Promise<{ args: ReturnType<typeof operatorArgs>; asOperator: KubeConfig; running: RunningOperator }> {
  const operator = find<V1Deployment>(objects, "Deployment", `${release}-operator`);
  const args = operatorArgs(operator);
  const sa = find<V1ServiceAccount>(objects, "ServiceAccount", operator.spec?.template.spec?.serviceAccountName);
  const asOperator = kubeConfigForToken(admin, await tokenFor(sa));
  const running = await runOperator({
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
  return { args, asOperator, running };
}

/** What the API server's authorizer lets `user` do (a SubjectAccessReview; namespace "" means cluster-wide). */
async function allowed(user: string, attributes: Partial<V1ResourceAttributes>): Promise<boolean> {
  const review = await admin.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
    body: apiObject(V1SubjectAccessReview, {
      spec: apiObject(V1SubjectAccessReviewSpec, {
        user,
        resourceAttributes: apiObject(V1ResourceAttributes, attributes),
      }),
    }),
  });
  return review.status?.allowed ?? false;
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

    const { args, asOperator, running } = await chartOperator(objects, release);
    expect(args).toEqual({ namespace: ns, watch: [ns], leaderElect: true });

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
    // The example Secret may arrive after the policies: wait for the reconcile that copies its key.
    const keys = await waitFor(
      async () => {
        const secret = await core.readNamespacedSecret({ name: secretName, namespace: ns }).catch(() => null);
        const names = Object.keys(secret?.data ?? {});
        return names.length > 0 ? names : null;
      },
      20_000,
      { description: `Secret ${ns}/${secretName} with the example key` },
    );
    expect(keys).toEqual([`${ns}.openai-gpt-4o-mini`]);
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

  it("grants a namespaced install (operator.watchNamespaces) no cluster-wide role, and Secrets only where it watches", async () => {
    const ns = await testNamespace(admin, "helm-ns-rbac");
    const team = await testNamespace(admin, "helm-team");
    const release = releaseName();
    const sets = [`operator.watchNamespaces={${team}}`];
    const objects = await render(sets, ns, release);
    await applyRendered(await renderText(sets, ns, release), false);

    // Nothing cluster-scoped: no ClusterRole of this release, no ClusterRoleBinding naming its ServiceAccount.
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    const selector = `app.kubernetes.io/instance=${release}`;
    expect((await rbac.listClusterRole({ labelSelector: selector })).items).toEqual([]);
    const sa = `${release}-operator`;
    const bindings = (await rbac.listClusterRoleBinding()).items.filter((b) =>
      (b.subjects ?? []).some((s) => s.kind === "ServiceAccount" && s.name === sa && s.namespace === ns),
    );
    expect(bindings.map((b) => b.metadata?.name)).toEqual([]);

    // What the API server's authorizer says the ServiceAccount may do with Secrets.
    const user = `system:serviceaccount:${ns}:${sa}`;
    const other = await testNamespace(admin, "helm-other");
    const secrets = (verb: string, namespace: string, name?: string): Promise<boolean> =>
      allowed(user, { verb, resource: "secrets", namespace, ...(name === undefined ? {} : { name }) });
    for (const verb of ["get", "list", "watch"]) {
      expect(await secrets(verb, team), `${verb} secrets in ${team}`).toBe(true);
      expect(await secrets(verb, ""), `${verb} secrets cluster-wide`).toBe(false);
      expect(await secrets(verb, other), `${verb} secrets in ${other}`).toBe(false);
    }
    expect(await secrets("list", ns), "list secrets in the release namespace").toBe(false);
    expect(await secrets("get", ns, CREDENTIALS_SECRET_NAME), "get its own credentials Secret").toBe(true);
    const routes = { group: "routewise.dev", resource: "modelroutes", verb: "list" };
    expect(await allowed(user, { ...routes, namespace: team })).toBe(true);
    expect(await allowed(user, { ...routes, namespace: "" })).toBe(false);

    // And that suffices: the operator as that ServiceAccount programs the team's policies into the release namespace.
    const { args, running } = await chartOperator(objects, release);
    expect(args.watch).toEqual([team]);
    await kubectl(kubeconfigPath, [
      "apply",
      "-n",
      team,
      "-f",
      writeTemp(exampleYaml("providers.yaml", "routes.yaml", "secret.yaml")),
    ]);
    await running.synced;
    const config = await waitFor(
      () => routerConfig(admin, ns).then((c) => (c?.routes.length === 3 ? c : null)),
      20_000,
      {
        description: `ConfigMap ${ns}/${CONFIGMAP_NAME} with the team's routes`,
      },
    );
    expect(config.routes.map((r) => r.name)).toEqual(["assistant", "summarizer", "support-bot"]);
    // The example Secret may arrive after the policies: wait for the reconcile that copies its key.
    const keys = await waitFor(
      async () => {
        const names = Object.keys(await credentials(admin, ns).catch(() => ({})));
        return names.length > 0 ? names : null;
      },
      20_000,
      { description: `Secret ${ns}/${CREDENTIALS_SECRET_NAME} with the team's key` },
    );
    expect(keys).toEqual([`${team}.openai-gpt-4o-mini`]);
  });
});
