/**
 * The Helm chart against the run's real kube-apiserver: server-side dry runs of the default and all-features installs,
 * then a real apply, the operator running in-process as the chart's own ServiceAccount (TokenRequest) with the
 * chart's args, and the chart's ModelGateway programmed into the ConfigMap the chart's router Deployment mounts.
 * No scheduler or kubelet run here (kube-controller-manager runs only the garbage collector and the namespace
 * controller): Deployments never get pods, so the operator runs in this process. The multi-team suite shows the
 * garbage collector removing a deleted gateway's outputs; here the tests assert the ownerReferences it acts on.
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
  CustomObjectsApi,
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
import {
  CONFIGMAP_NAME,
  CREDENTIALS_SECRET_NAME,
  DEFAULT_GATEWAY_NAME,
  FEEDBACK_KEY_CREDENTIAL,
  configFromConfigMap,
  configMapName,
  credentialsSecretName,
} from "../../router/config/delivery.js";
import { DEFAULT_CONTROLLER_NAME, DEFAULT_LEASE_NAME, runOperator, type RunningOperator } from "../../operator/main.js";
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
interface OperatorArgs {
  namespace: string;
  watch: string[];
  leaderElect: boolean;
  controllerName: string;
  leaseName: string;
}

function operatorArgs(deployment: V1Deployment): OperatorArgs {
  const args = deployment.spec?.template.spec?.containers[0]?.args ?? [];
  expect(args[0]).toBe("operator");
  const flag = (name: string): string | undefined =>
    args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return {
    namespace: flag("namespace") ?? "",
    watch: (flag("watch-namespaces") ?? "").split(",").filter((s) => s !== ""),
    leaderElect: !args.includes("--no-leader-elect"),
    controllerName: flag("controller-name") ?? DEFAULT_CONTROLLER_NAME,
    leaseName: flag("lease-name") ?? DEFAULT_LEASE_NAME,
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
): Promise<{ args: OperatorArgs; asOperator: KubeConfig; running: RunningOperator }> {
  const operator = find<V1Deployment>(objects, "Deployment", `${release}-operator`);
  const args = operatorArgs(operator);
  const sa = find<V1ServiceAccount>(objects, "ServiceAccount", operator.spec?.template.spec?.serviceAccountName);
  const asOperator = kubeConfigForToken(admin, await tokenFor(sa));
  const running = await runOperator({
    kubeConfig: asOperator,
    namespace: args.namespace,
    watchNamespaces: args.watch,
    leaderElection: args.leaderElect,
    controllerName: args.controllerName,
    leaseName: args.leaseName,
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

/** A ModelGateway as the API server holds it. */
async function gatewayOf(
  namespace: string,
  name: string,
): Promise<KubernetesObject & { spec: { controllerName: string } }> {
  return (await admin.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
    group: "routewise.dev",
    version: "v1alpha1",
    namespace,
    plural: "modelgateways",
    name,
  })) as KubernetesObject & { spec: { controllerName: string } };
}

/** The volumes the chart's router Deployment mounts: the ConfigMap behind --config and the credentials Secret. */
function routerMounts(objects: readonly KubernetesObject[], release: string): { configMap: string; secret: string } {
  const router = find<V1Deployment>(objects, "Deployment", `${release}-router`);
  const podSpec = router.spec?.template.spec;
  expect(podSpec?.containers[0]?.args).toContain("--config=/etc/routewise/config");
  const volume = (name: string) => podSpec?.volumes?.find((v) => v.name === name)?.projected?.sources?.[0];
  return { configMap: volume("config")?.configMap?.name ?? "", secret: volume("credentials")?.secret?.name ?? "" };
}

/** The router config in a ConfigMap once it serves `routes` routes, read by name as the kubelet would. */
async function programmed(namespace: string, name: string, routes: number): Promise<RouterConfig> {
  const core = admin.makeApiClient(CoreV1Api);
  return waitFor(
    async () => {
      const cm = await core.readNamespacedConfigMap({ name, namespace }).catch(() => null);
      const text = cm === null ? null : configFromConfigMap(cm);
      const parsed = text === null ? null : (JSON.parse(text) as RouterConfig);
      return parsed !== null && parsed.routes.length === routes ? parsed : null;
    },
    20_000,
    { description: `ConfigMap ${namespace}/${name} with ${routes} routes` },
  );
}

/**
 * The provider keys of a credentials Secret once it holds any (the example Secret may arrive after the policies);
 * the gateway's feedback signing key, always there, is left out.
 */
async function secretKeys(namespace: string, name: string): Promise<string[]> {
  const core = admin.makeApiClient(CoreV1Api);
  return waitFor(
    async () => {
      const secret = await core.readNamespacedSecret({ name, namespace }).catch(() => null);
      const names = Object.keys(secret?.data ?? {}).filter((k) => k !== FEEDBACK_KEY_CREDENTIAL);
      return names.length > 0 ? names : null;
    },
    20_000,
    { description: `Secret ${namespace}/${name} with a key` },
  );
}

/**
 * A route on the examples' real (openai) provider: a gateway's Secret holds only the keys of providers its routes use
 * (issue 12), and no example route uses that one.
 */
const LIVE_ROUTE = `
apiVersion: routewise.dev/v1alpha1
kind: ModelRoute
metadata: { name: live }
spec:
  modelName: live
  candidates: [{ name: openai-gpt-4o-mini }]
  baseline: { name: gpt-4o }
`;
const ROUTES = ["assistant", "live", "summarizer", "support-bot"];

/** The examples and LIVE_ROUTE. */
async function applyExamples(namespace: string): Promise<void> {
  const yaml = `${exampleYaml("providers.yaml", "routes.yaml", "secret.yaml")}\n---\n${LIVE_ROUTE}`;
  await kubectl(kubeconfigPath, ["apply", "-n", namespace, "-f", writeTemp(yaml)]);
}

describe("helm chart on a real API server (kubectl apply --dry-run=server)", () => {
  it("accepts the default install, its ModelGateway included", async () => {
    const ns = await testNamespace(admin, "helm-default");
    const out = await applyRendered(await renderText([], ns, releaseName()), true);
    expect(out).toMatch(/deployment.apps\/routewise-\w+-router serverside-applied \(server dry run\)/);
    expect(out).toMatch(/horizontalpodautoscaler.autoscaling\/\S+ serverside-applied/);
    expect(out).toContain("modelgateway.routewise.dev/routewise serverside-applied (server dry run)");
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

  it("accepts a gateway that admits routes by namespace selector and claims model names", async () => {
    const ns = await testNamespace(admin, "helm-gateway-spec");
    const sets = [
      "gateway.allowedRoutes.namespaces.from=Selector",
      "gateway.allowedRoutes.namespaces.selector.matchExpressions[0].key=team",
      "gateway.allowedRoutes.namespaces.selector.matchExpressions[0].operator=Exists",
      "gateway.modelNames[0].names={assistant,platform-*}",
    ];
    const out = await applyRendered(await renderText(sets, ns, releaseName()), true);
    expect(out).toContain("modelgateway.routewise.dev/routewise serverside-applied (server dry run)");
  });
});

describe("helm chart installed for real, operator running as the chart's ServiceAccount", () => {
  it("programs the chart's gateway into the ConfigMap its router Deployment mounts when an example policy is applied", async () => {
    const ns = await testNamespace(admin, "helm-install");
    const release = releaseName();
    const sets = [`operator.watchNamespaces={${ns}}`];
    const objects: KubernetesObject[] = await render(sets, ns, release);
    await applyRendered(await renderText(sets, ns, release), false);
    const mounts = routerMounts(objects, release);
    expect(mounts).toEqual({ configMap: CONFIGMAP_NAME, secret: CREDENTIALS_SECRET_NAME });

    const { args, asOperator, running } = await chartOperator(objects, release);
    expect(args).toEqual({
      namespace: ns,
      watch: [ns],
      leaderElect: true,
      controllerName: DEFAULT_CONTROLLER_NAME,
      leaseName: DEFAULT_LEASE_NAME,
    });
    const gateway = await gatewayOf(ns, DEFAULT_GATEWAY_NAME);
    expect(gateway.spec.controllerName).toBe(DEFAULT_CONTROLLER_NAME);

    await applyExamples(ns);
    await running.synced;
    const config = await programmed(ns, mounts.configMap, ROUTES.length);
    expect(config.routes.map((r) => r.name)).toEqual(ROUTES);
    expect(await secretKeys(ns, mounts.secret)).toEqual([`${ns}.openai-gpt-4o-mini`]);
    const lease = await admin
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: DEFAULT_LEASE_NAME, namespace: ns });
    expect(lease.spec?.holderIdentity).toBe("helm-test");

    // The chart's RBAC grants nothing more: the same token cannot read other ConfigMaps or list pods.
    const denied = asOperator.makeApiClient(CoreV1Api);
    await expect(denied.readNamespacedConfigMap({ name: "kube-root-ca.crt", namespace: ns })).rejects.toThrow(
      /403|forbidden/i,
    );
    await expect(denied.listNamespacedPod({ namespace: ns })).rejects.toThrow(/403|forbidden/i);
  });

  it("makes the chart's gateway the owner of the ConfigMap and Secret the operator writes (what GC deletes)", async () => {
    const ns = await testNamespace(admin, "helm-owner");
    const release = releaseName();
    const sets = [`operator.watchNamespaces={${ns}}`];
    const objects = await render(sets, ns, release);
    await applyRendered(await renderText(sets, ns, release), false);
    const { running } = await chartOperator(objects, release);
    await applyExamples(ns);
    await running.synced;
    await programmed(ns, CONFIGMAP_NAME, ROUTES.length);
    await secretKeys(ns, CREDENTIALS_SECRET_NAME);

    const uid = (await gatewayOf(ns, DEFAULT_GATEWAY_NAME)).metadata?.uid;
    expect(uid).toBeTruthy();
    const core = admin.makeApiClient(CoreV1Api);
    const owners = [
      (await core.readNamespacedConfigMap({ name: CONFIGMAP_NAME, namespace: ns })).metadata?.ownerReferences,
      (await core.readNamespacedSecret({ name: CREDENTIALS_SECRET_NAME, namespace: ns })).metadata?.ownerReferences,
    ];
    const expected = [
      {
        apiVersion: "routewise.dev/v1alpha1",
        kind: "ModelGateway",
        name: DEFAULT_GATEWAY_NAME,
        uid,
        controller: true,
        blockOwnerDeletion: false,
      },
    ];
    expect(JSON.parse(JSON.stringify(owners)) as unknown).toEqual([expected, expected]);
  });

  it("programs a gateway with the chart's own name and controllerName, with the operator's --controller-name", async () => {
    const ns = await testNamespace(admin, "helm-controller");
    const release = releaseName();
    const sets = [
      `operator.watchNamespaces={${ns}}`,
      "operator.controllerName=example.com/team-a",
      "operator.leaseName=team-a-operator",
      "gateway.name=team-a",
    ];
    const objects = await render(sets, ns, release);
    await applyRendered(await renderText(sets, ns, release), false);
    expect(routerMounts(objects, release)).toEqual({
      configMap: configMapName("team-a"),
      secret: credentialsSecretName("team-a"),
    });
    expect((await gatewayOf(ns, "team-a")).spec.controllerName).toBe("example.com/team-a");

    const { args, running } = await chartOperator(objects, release);
    expect([args.controllerName, args.leaseName]).toEqual(["example.com/team-a", "team-a-operator"]);
    await applyExamples(ns);
    await running.synced;
    const config = await programmed(ns, configMapName("team-a"), ROUTES.length);
    expect(config.routes.map((r) => r.name)).toEqual(ROUTES);
    const lease = await admin
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: "team-a-operator", namespace: ns });
    expect(lease.spec?.holderIdentity).toBe("helm-test");
  });

  it("grants a namespaced install (operator.watchNamespaces) no cluster-wide role, and Secrets only where it watches", async () => {
    const ns = await testNamespace(admin, "helm-ns-rbac");
    const team = await testNamespace(admin, "helm-team");
    const release = releaseName();
    // The release namespace is watched (the operator's gateway is there); the gateway admits the team's routes.
    const sets = [`operator.watchNamespaces={${ns},${team}}`, "gateway.allowedRoutes.namespaces.from=All"];
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
    const routes = { group: "routewise.dev", resource: "modelroutes", verb: "list" };
    expect(await allowed(user, { ...routes, namespace: team })).toBe(true);
    expect(await allowed(user, { ...routes, namespace: "" })).toBe(false);

    // And that suffices: the operator as that ServiceAccount programs the team's policies into the release namespace.
    const { args, running } = await chartOperator(objects, release);
    expect(args.watch).toEqual([ns, team]);
    await applyExamples(team);
    await running.synced;
    const config = await programmed(ns, CONFIGMAP_NAME, ROUTES.length);
    expect(config.routes.map((r) => r.name)).toEqual(ROUTES);
    expect(await secretKeys(ns, CREDENTIALS_SECRET_NAME)).toEqual([`${team}.openai-gpt-4o-mini`]);
  });
});
