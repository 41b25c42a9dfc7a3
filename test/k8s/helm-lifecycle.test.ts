/**
 * The chart's lifecycle with the real `helm` CLI against the run's real kube-apiserver: `helm install` whether or
 * not the CRDs were applied first, `helm upgrade` after each, `helm uninstall` keeping the CRDs (ADR 6: they are in
 * the chart's crds/ directory, which Helm installs when absent and never upgrades or deletes), and the chart's
 * ModelGateway: created with the release, kept across upgrades, deleted by uninstall (the owner the operator's
 * ConfigMap and Secret name; the tests assert those ownerReferences, and the multi-team suite the garbage collection).
 * These tests delete the Routewise CRDs (and so every policy in the cluster) to start from a cluster without them,
 * so they run on a control plane of their own: deleting a CRD in the run's shared cluster waits for every other
 * suite's objects to go, which took over a minute on a loaded 2-core machine.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ApiextensionsV1Api,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  type V1CustomResourceDefinition,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isNotFound } from "../../operator/controllers/kube.js";
import { DEFAULT_CONTROLLER_NAME, DEFAULT_LEASE_NAME } from "../../operator/main.js";
import { CONFIGMAP_NAME, CREDENTIALS_SECRET_NAME, DEFAULT_GATEWAY_NAME } from "../../router/config/delivery.js";
import { applyYaml, kubectl, loadKubeConfig, parseObjects, testNamespace, waitFor } from "../harness/kube.js";
import { startControlPlane, type ControlPlane } from "../harness/control-plane.js";
import { repoRoot } from "../harness/tools.js";
import { CHART_DIR, helm, type HelmResult } from "../helm/helm.js";
import { credentials, exampleYaml, routerConfig, startOperator } from "./operator-harness.js";

const CRD_DIR = join(CHART_DIR, "crds");
const CRDS = readdirSync(CRD_DIR)
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => parseObjects(readFileSync(join(CRD_DIR, f), "utf8"))[0]?.metadata?.name ?? "")
  .sort();
const EXAMPLE_ROUTES = ["assistant", "summarizer", "support-bot"];

let admin: KubeConfig;
let kubeconfigPath: string;
let plane: ControlPlane | null = null;

beforeAll(async () => {
  plane = await startControlPlane();
  kubeconfigPath = plane.kubeconfigPath;
  admin = loadKubeConfig(kubeconfigPath);
});

afterAll(async () => {
  await plane?.stop();
  plane = null;
});

function releaseName(): string {
  return `routewise-${randomBytes(3).toString("hex")}`;
}

/**
 * These tests chain CRD deletion, helm and kubectl; on a loaded CI machine one step once stalled past the test's
 * timeout with nothing to say which. Each step reports itself on stderr when it takes longer than this, and the
 * CRD-removing tests get room for their slowest steps.
 */
const SLOW_STEP_MS = 10_000;
const CRD_TEST_TIMEOUT_MS = 180_000;
const WRITES = new Set(["install", "upgrade", "uninstall"]);

async function timed<T>(label: string, run: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const warn = setTimeout(() => process.stderr.write(`helm-lifecycle: still waiting for ${label}\n`), SLOW_STEP_MS);
  try {
    return await run();
  } finally {
    clearTimeout(warn);
    const ms = Date.now() - started;
    if (ms > SLOW_STEP_MS) process.stderr.write(`helm-lifecycle: ${label} took ${ms} ms\n`);
  }
}

/** Runs helm against the test cluster and fails the test, with helm's output, when it exits non-zero. */
async function helmOk(args: readonly string[]): Promise<HelmResult> {
  const result = await timed(`helm ${args.slice(0, 2).join(" ")}`, () =>
    helm([...args, "--kubeconfig", kubeconfigPath, ...(WRITES.has(args[0] ?? "") ? ["--timeout", "90s"] : [])]),
  );
  expect(result.code, `helm ${args.join(" ")}\n${result.stdout}${result.stderr}`).toBe(0);
  return result;
}

async function install(release: string, namespace: string, sets: readonly string[] = []): Promise<HelmResult> {
  return helmOk(["install", release, CHART_DIR, "-n", namespace, ...sets.flatMap((s) => ["--set", s])]);
}

async function upgrade(release: string, namespace: string, sets: readonly string[]): Promise<HelmResult> {
  return helmOk([
    "upgrade",
    release,
    CHART_DIR,
    "-n",
    namespace,
    "--reuse-values",
    ...sets.flatMap((s) => ["--set", s]),
  ]);
}

/** Kinds (kind/name) in the release's stored manifest: what helm manages for it. */
async function managed(release: string, namespace: string): Promise<string[]> {
  const manifest = await helmOk(["get", "manifest", release, "-n", namespace]);
  return parseObjects(manifest.stdout, "helm get manifest").map((o) => `${o.kind ?? ""}/${o.metadata?.name ?? ""}`);
}

async function revision(release: string, namespace: string): Promise<{ version: number; status: string }> {
  const out = await helmOk(["status", release, "-n", namespace, "-o", "json"]);
  const status = JSON.parse(out.stdout) as { version: number; info: { status: string } };
  return { version: status.version, status: status.info.status };
}

async function crds(): Promise<(V1CustomResourceDefinition | null)[]> {
  const api = admin.makeApiClient(ApiextensionsV1Api);
  return Promise.all(CRDS.map((name) => api.readCustomResourceDefinition({ name }).catch(() => null)));
}

async function resourceVersions(): Promise<(string | undefined)[]> {
  return (await crds()).map((c) => c?.metadata?.resourceVersion);
}

/**
 * A cluster without the CRDs: a fresh control plane. Deleting the CRDs instead (kubectl delete crd --wait) stalled
 * past its 90 s timeout in several CI runs under load — a different CRD each time, the API server's CRD cleanup
 * never finishing, cause not found — so every test that needs a cluster without them gets a new one.
 */
async function removeCrds(): Promise<void> {
  await timed("fresh control plane", async () => {
    await plane?.stop();
    plane = null;
    plane = await startControlPlane();
    kubeconfigPath = plane.kubeconfigPath;
    admin = loadKubeConfig(kubeconfigPath);
  });
  expect(await crds()).toEqual(CRDS.map(() => null));
}

async function established(): Promise<void> {
  await timed("kubectl wait Established", () =>
    kubectl(kubeconfigPath, ["wait", "--for=condition=Established", "--timeout=60s", ...CRDS.map((n) => `crd/${n}`)]),
  );
}

function crdKinds(kinds: readonly string[]): string[] {
  return kinds.filter((k) => k.startsWith("CustomResourceDefinition/")).sort();
}

async function routeNames(namespace: string): Promise<string[]> {
  const list = (await admin.makeApiClient(CustomObjectsApi).listNamespacedCustomObject({
    group: "routewise.dev",
    version: "v1alpha1",
    plural: "modelroutes",
    namespace,
  })) as { items: KubernetesObject[] };
  return list.items.map((o) => o.metadata?.name ?? "").sort();
}

/** The chart's ModelGateway in `namespace`, or null once it is gone. */
async function gateway(namespace: string): Promise<(KubernetesObject & { spec: { controllerName: string } }) | null> {
  return (
    admin.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group: "routewise.dev",
      version: "v1alpha1",
      namespace,
      plural: "modelgateways",
      name: DEFAULT_GATEWAY_NAME,
    }) as Promise<KubernetesObject & { spec: { controllerName: string } }>
  ).catch(() => null);
}

/** The uids the operator's ConfigMap and Secret name as owners. */
async function outputOwners(namespace: string): Promise<(string[] | undefined)[]> {
  const core = admin.makeApiClient(CoreV1Api);
  const cm = await core.readNamespacedConfigMap({ name: CONFIGMAP_NAME, namespace });
  const secret = await core.readNamespacedSecret({ name: CREDENTIALS_SECRET_NAME, namespace });
  return [cm, secret].map((o) => o.metadata?.ownerReferences?.map((r) => `${r.kind}/${r.name}/${r.uid}`));
}

function nullIfNotFound(err: unknown): null {
  if (isNotFound(err)) return null;
  throw err;
}

/** The resourceVersions of the operator's ConfigMap and Secret. */
async function outputVersions(namespace: string): Promise<(string | undefined)[]> {
  const core = admin.makeApiClient(CoreV1Api);
  const cm = await core.readNamespacedConfigMap({ name: CONFIGMAP_NAME, namespace });
  const secret = await core.readNamespacedSecret({ name: CREDENTIALS_SECRET_NAME, namespace });
  return [cm.metadata?.resourceVersion, secret.metadata?.resourceVersion];
}

/** The Lease's owners as kind/name/uid, or null when there is no Lease. */
async function leaseOwners(namespace: string): Promise<string[] | null> {
  const lease = await admin
    .makeApiClient(CoordinationV1Api)
    .readNamespacedLease({ name: DEFAULT_LEASE_NAME, namespace })
    .catch(nullIfNotFound);
  return lease?.metadata?.ownerReferences?.map((r) => `${r.kind}/${r.name}/${r.uid}`) ?? (lease ? [] : null);
}

/** What the operator wrote in `namespace` that still exists: its ConfigMap, credentials Secret and Lease. */
async function operatorWritten(namespace: string): Promise<string[]> {
  const core = admin.makeApiClient(CoreV1Api);
  const found = await Promise.all(
    [
      core.readNamespacedConfigMap({ name: CONFIGMAP_NAME, namespace }).then(() => `ConfigMap/${CONFIGMAP_NAME}`),
      core
        .readNamespacedSecret({ name: CREDENTIALS_SECRET_NAME, namespace })
        .then(() => `Secret/${CREDENTIALS_SECRET_NAME}`),
      admin
        .makeApiClient(CoordinationV1Api)
        .readNamespacedLease({ name: DEFAULT_LEASE_NAME, namespace })
        .then(() => `Lease/${DEFAULT_LEASE_NAME}`),
    ].map((p) => p.catch(nullIfNotFound)),
  );
  return found.filter((x) => x !== null);
}

/** Installs the release, runs the operator (in-process, as admin) and waits until the examples are programmed. */
async function installProgrammed(release: string, namespace: string): Promise<() => Promise<void>> {
  await install(release, namespace);
  const running = await startOperator(admin, namespace, { gateway: false });
  await applyYaml(admin, exampleYaml("providers.yaml", "routes.yaml", "secret.yaml"), namespace);
  await running.synced;
  await waitFor(() => routerConfig(admin, namespace).then((c) => c?.routes.length === 3), 20_000, {
    description: `ConfigMap ${namespace}/${CONFIGMAP_NAME} with the example routes`,
  });
  await waitFor(() => credentials(admin, namespace).then(() => true), 20_000, {
    description: `Secret ${namespace}/${CREDENTIALS_SECRET_NAME}`,
  });
  return () => running.stop();
}

describe("helm install on a cluster without the CRDs", { timeout: CRD_TEST_TIMEOUT_MS }, () => {
  it("installs the CRDs from crds/ before the templates, so the gateway and examples.enabled=true install in one go", async () => {
    await removeCrds();
    const ns = await testNamespace(admin, "helm-fresh-examples");
    const release = releaseName();
    await install(release, ns, ["examples.enabled=true"]);
    await established();
    expect(crdKinds(await managed(release, ns))).toEqual([]);
    expect(await routeNames(ns)).toEqual(EXAMPLE_ROUTES);
    expect((await gateway(ns))?.spec.controllerName).toBe(DEFAULT_CONTROLLER_NAME);
    await helmOk(["uninstall", release, "-n", ns]);
    expect(await routeNames(ns)).toEqual([]);
  });

  it("keeps the CRDs, and the policies the chart did not create, on uninstall", async () => {
    await removeCrds();
    const ns = await testNamespace(admin, "helm-fresh");
    const release = releaseName();
    await install(release, ns);
    await established();
    await applyYaml(admin, exampleYaml("providers.yaml", "routes.yaml", "secret.yaml"), ns);
    await upgrade(release, ns, ["operator.logLevel=debug"]);
    expect(await revision(release, ns)).toEqual({ version: 2, status: "deployed" });

    await helmOk(["uninstall", release, "-n", ns]);
    expect((await crds()).map((c) => c?.metadata?.name)).toEqual(CRDS);
    expect(await routeNames(ns)).toEqual(EXAMPLE_ROUTES);
  });

  it("upgrades CRDs that helm installed with the documented kubectl apply --server-side --force-conflicts", async () => {
    await removeCrds();
    const ns = await testNamespace(admin, "helm-crd-upgrade");
    const release = releaseName();
    await install(release, ns);
    await established();

    // A newer chart's CRDs: here the same files with one description changed.
    const newer = mkdtempSync(join(tmpdir(), "routewise-crds-"));
    const marker = `Upgraded ${randomBytes(3).toString("hex")}.`;
    for (const file of readdirSync(CRD_DIR)) {
      const crd = parseObjects(readFileSync(join(CRD_DIR, file), "utf8"))[0] as V1CustomResourceDefinition;
      const schema = crd.spec.versions[0]?.schema?.openAPIV3Schema;
      if (schema !== undefined) schema.description = `${marker} ${schema.description ?? ""}`;
      writeFileSync(join(newer, file.replace(/\.yaml$/, ".json")), JSON.stringify(crd));
    }
    await kubectl(kubeconfigPath, ["apply", "--server-side", "--force-conflicts", "-f", newer]);
    await upgrade(release, ns, ["operator.logLevel=debug"]);
    for (const crd of await crds())
      expect(crd?.spec.versions[0]?.schema?.openAPIV3Schema?.description, crd?.metadata?.name).toMatch(
        new RegExp(`^${marker}`),
      );
    await helmOk(["uninstall", release, "-n", ns]);
  });

  it("leaves the CRDs alone when a second release is installed, upgraded and uninstalled", async () => {
    await removeCrds();
    const first = { ns: await testNamespace(admin, "helm-first"), release: releaseName() };
    await install(first.release, first.ns);
    await established();
    const before = await resourceVersions();

    const second = { ns: await testNamespace(admin, "helm-second"), release: releaseName() };
    await install(second.release, second.ns);
    await upgrade(second.release, second.ns, ["operator.logLevel=debug"]);
    await helmOk(["uninstall", second.release, "-n", second.ns]);
    expect(await resourceVersions()).toEqual(before);
    await helmOk(["uninstall", first.release, "-n", first.ns]);
    expect(await resourceVersions()).toEqual(before);
  });
});

describe("the chart's ModelGateway over the release's lifecycle", () => {
  it("is created with operator.controllerName and owns the ConfigMap and Secret the operator writes for it", async () => {
    const ns = await testNamespace(admin, "helm-gateway");
    const release = releaseName();
    const stop = await installProgrammed(release, ns);
    try {
      const created = await gateway(ns);
      expect(created?.spec.controllerName).toBe(DEFAULT_CONTROLLER_NAME);
      expect(await managed(release, ns)).toContain(`ModelGateway/${DEFAULT_GATEWAY_NAME}`);
      const owner = `ModelGateway/${DEFAULT_GATEWAY_NAME}/${created?.metadata?.uid ?? "?"}`;
      expect(await outputOwners(ns)).toEqual([[owner], [owner]]);
    } finally {
      await stop();
    }
  });

  it("keeps the same gateway (uid) across helm upgrade, so garbage collection never takes the config", async () => {
    const ns = await testNamespace(admin, "helm-gateway-upgrade");
    const release = releaseName();
    const stop = await installProgrammed(release, ns);
    try {
      const before = (await gateway(ns))?.metadata?.uid;
      const served = await outputVersions(ns);
      await upgrade(release, ns, ["operator.logLevel=debug", "router.replicas=3"]);
      expect((await gateway(ns))?.metadata?.uid).toBe(before);
      const owner = `ModelGateway/${DEFAULT_GATEWAY_NAME}/${before ?? "?"}`;
      expect(await outputOwners(ns)).toEqual([[owner], [owner]]);
      // What the routers mount is not even rewritten: they keep serving the same config through the upgrade.
      expect(await outputVersions(ns)).toEqual(served);
    } finally {
      await stop();
    }
  });

  it("is deleted by helm uninstall, which garbage-collects its ConfigMap, credentials Secret and the leader Lease", async () => {
    const ns = await testNamespace(admin, "helm-gateway-uninstall");
    const release = releaseName();
    const stop = await installProgrammed(release, ns);
    const uid = (await gateway(ns))?.metadata?.uid ?? "?";
    const owner = `ModelGateway/${DEFAULT_GATEWAY_NAME}/${uid}`;
    // The leader names the gateways it programs as the Lease's owners on its next renewal.
    await waitFor(async () => ((await leaseOwners(ns))?.includes(owner) ? true : undefined), 20_000, {
      description: `Lease ${ns}/${DEFAULT_LEASE_NAME} owned by the gateway`,
    });
    await stop(); // helm uninstall takes the operator too: nothing re-creates what it wrote
    expect(await outputOwners(ns)).toEqual([[owner], [owner]]);

    const notes = (await helmOk(["get", "notes", release, "-n", ns])).stdout;
    expect(notes).toContain(`- removes ModelGateway ${DEFAULT_GATEWAY_NAME}, and with it (garbage collection`);
    expect(notes).toContain(`Secret ${CREDENTIALS_SECRET_NAME} (copies of the upstream API keys)`);
    expect(notes).toContain(`leader Lease ${DEFAULT_LEASE_NAME}`);
    expect(notes).toContain("- keeps the CRDs (Helm never deletes a chart's crds/)");

    const uninstalled = await helmOk(["uninstall", release, "-n", ns]);
    expect(uninstalled.stdout).toContain(`release "${release}" uninstalled`);
    expect(await gateway(ns)).toBeNull();
    // The garbage collector notices a CRD's kind up to ~30 s after the CRD appears (its discovery resync).
    const left = await waitFor(
      async () => {
        const now = await operatorWritten(ns);
        return now.length === 0 ? now : undefined;
      },
      90_000,
      { description: `nothing the operator wrote left in ${ns}` },
    );
    expect(left).toEqual([]);
    // No Secret holds a copy of an upstream key any more (the operator's keys are "<namespace>.<provider>");
    // the user's own Secret, like every policy the chart did not create, stays.
    const secrets = (await admin.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: ns })).items;
    expect(secrets.filter((x) => Object.keys(x.data ?? {}).some((k) => k.startsWith(`${ns}.`)))).toEqual([]);
    expect(secrets.map((x) => x.metadata?.name)).toContain("openai-credentials");
    expect(await routeNames(ns)).toEqual(EXAMPLE_ROUTES);
  }, 150_000);
});

describe("manifests/routewise.yaml with kubectl alone", { timeout: CRD_TEST_TIMEOUT_MS }, () => {
  it("applies with kubectl apply --server-side on a cluster without the CRDs, run again once they are established", async () => {
    await removeCrds();
    const ns = `rw-manifests-${randomBytes(3).toString("hex")}`;
    const text = readFileSync(join(repoRoot, "manifests", "routewise.yaml"), "utf8")
      .replaceAll("namespace: routewise-system", `namespace: ${ns}`)
      .replaceAll("name: routewise-system", `name: ${ns}`)
      // Cluster-scoped names, so they cannot collide with a helm release of this run.
      .replaceAll("name: routewise-operator\n", `name: ${ns}-operator\n`);
    const file = join(mkdtempSync(join(tmpdir(), "routewise-manifests-")), "routewise.yaml");
    writeFileSync(file, text);
    // On a cluster that has never served the CRDs, kubectl maps the ModelGateway before its CRD exists: the first
    // apply creates everything else and refuses it; once the CRDs are established the same command applies it.
    const first = await kubectl(kubeconfigPath, ["apply", "--server-side", "-f", file]).then(
      (out) => ({ ok: true, text: out.stdout }),
      (err: unknown) => ({ ok: false, text: String(err) }),
    );
    if (!first.ok) expect(first.text).toContain('no matches for kind "ModelGateway"');
    await established();
    const out = await kubectl(kubeconfigPath, ["apply", "--server-side", "-f", file]);
    expect(out.stdout).toContain("modelgateway.routewise.dev/routewise serverside-applied");
    expect((await gateway(ns))?.spec.controllerName).toBe(DEFAULT_CONTROLLER_NAME);
  });
});

describe("helm install when the CRDs were applied first with kubectl", { timeout: CRD_TEST_TIMEOUT_MS }, () => {
  it("installs, upgrades and uninstalls without touching the CRDs", async () => {
    // The CRDs as `kubectl apply --server-side` leaves them (the manifests test before this one applied them the same
    // way). This test runs last and does not delete them first: on a loaded CI machine, deleting CRDs that kubectl
    // created with server-side apply right after a release stalled past kubectl's 90 s timeout (twice in CI).
    await kubectl(kubeconfigPath, ["apply", "--server-side", "--force-conflicts", "-f", join(repoRoot, "crds")]);
    await established();
    const before = await resourceVersions();

    const ns = await testNamespace(admin, "helm-crds-first");
    const release = releaseName();
    const installed = await install(release, ns);
    expect(installed.stdout).toContain("- keeps the CRDs (Helm never deletes a chart's crds/)");
    const kinds = await managed(release, ns);
    expect(crdKinds(kinds)).toEqual([]);
    expect(kinds).toContain(`Deployment/${release}-router`);

    await upgrade(release, ns, ["router.autoscaling.enabled=false", "router.replicas=3"]);
    expect(await revision(release, ns)).toEqual({ version: 2, status: "deployed" });
    const router = await admin
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: `${release}-router`, namespace: ns });
    expect(router.spec?.replicas).toBe(3);

    await helmOk(["uninstall", release, "-n", ns]);
    expect(await resourceVersions()).toEqual(before);
  });
});
