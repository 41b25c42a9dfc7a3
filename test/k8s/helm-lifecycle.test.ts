/**
 * The chart's lifecycle with the real `helm` CLI against the run's real kube-apiserver: `helm install` whether or
 * not the CRDs were applied first, `helm upgrade` after each, `helm uninstall` keeping the CRDs (ADR 6).
 * These tests delete the Routewise CRDs (and so every policy in the cluster) to start from a cluster without them;
 * afterAll applies them again for the files that follow.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import {
  ApiextensionsV1Api,
  AppsV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  type V1CustomResourceDefinition,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { applyYaml, installCrds, kubectl, loadKubeConfig, parseObjects, testNamespace } from "../harness/kube.js";
import { repoRoot } from "../harness/tools.js";
import { CHART_DIR, helm, type HelmResult } from "../helm/helm.js";
import { exampleYaml } from "./operator-harness.js";

const CRDS = ["modelproviders.routewise.dev", "modelroutes.routewise.dev"];
const RELEASE_NAME = "meta.helm.sh/release-name";

let admin: KubeConfig;
let kubeconfigPath: string;

beforeAll(() => {
  kubeconfigPath = inject("kubeconfigPath");
  admin = loadKubeConfig(kubeconfigPath);
});

afterAll(async () => {
  await installCrds(admin, join(repoRoot, "crds"));
});

function releaseName(): string {
  return `routewise-${randomBytes(3).toString("hex")}`;
}

/** Runs helm against the test cluster and fails the test, with helm's output, when it exits non-zero. */
async function helmOk(args: readonly string[]): Promise<HelmResult> {
  const result = await helm([...args, "--kubeconfig", kubeconfigPath]);
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

async function removeCrds(): Promise<void> {
  await kubectl(kubeconfigPath, ["delete", "crd", ...CRDS, "--ignore-not-found", "--wait=true", "--timeout=120s"]);
  expect(await crds()).toEqual([null, null]);
}

async function established(): Promise<void> {
  await kubectl(kubeconfigPath, [
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    ...CRDS.map((n) => `crd/${n}`),
  ]);
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

describe("helm install when the CRDs were applied first with kubectl (the README's path)", () => {
  it("installs and upgrades, leaving the CRDs out of the release and untouched", async () => {
    await removeCrds();
    await kubectl(kubeconfigPath, ["apply", "-f", join(repoRoot, "crds")]);
    await established();
    const before = (await crds()).map((c) => c?.metadata?.resourceVersion);

    const ns = await testNamespace(admin, "helm-crds-first");
    const release = releaseName();
    const installed = await install(release, ns);
    expect(installed.stdout).toContain("These CRDs already existed and are not managed by this release");
    expect(installed.stdout).toContain("- keeps the CRDs (they are not part of this release)");
    expect(installed.stdout).toMatch(/- leaves what the operator wrote.*\n.*routewise-router-credentials/);
    const kinds = await managed(release, ns);
    expect(crdKinds(kinds)).toEqual([]);
    expect(kinds).toContain(`Deployment/${release}-router`);

    await upgrade(release, ns, ["router.autoscaling.enabled=false", "router.replicas=3"]);
    expect(await revision(release, ns)).toEqual({ version: 2, status: "deployed" });
    const router = await admin
      .makeApiClient(AppsV1Api)
      .readNamespacedDeployment({ name: `${release}-router`, namespace: ns });
    expect(router.spec?.replicas).toBe(3);
    expect(crdKinds(await managed(release, ns))).toEqual([]);

    await helmOk(["uninstall", release, "-n", ns]);
    const after = await crds();
    expect(after.map((c) => c?.metadata?.resourceVersion)).toEqual(before);
    expect(after.map((c) => c?.metadata?.annotations?.[RELEASE_NAME])).toEqual([undefined, undefined]);
  });
});

describe("helm install on a cluster without the CRDs (helm alone)", () => {
  it("installs the CRDs with the release, keeps managing them on upgrade, and keeps them (and the policies) on uninstall", async () => {
    await removeCrds();
    const ns = await testNamespace(admin, "helm-alone");
    const release = releaseName();
    const installed = await install(release, ns);
    expect(installed.stdout).not.toContain("already existed");
    expect(installed.stdout).toContain("- keeps the CRDs (crds.keep), and so every ModelProvider and ModelRoute");
    expect(crdKinds(await managed(release, ns))).toEqual(CRDS.map((n) => `CustomResourceDefinition/${n}`));
    await established();
    for (const crd of await crds()) {
      expect(crd?.metadata?.annotations).toMatchObject({
        [RELEASE_NAME]: release,
        "meta.helm.sh/release-namespace": ns,
        "helm.sh/resource-policy": "keep",
      });
    }
    await applyYaml(admin, exampleYaml("providers.yaml", "routes.yaml", "secret.yaml"), ns);

    // The release still recognises the CRDs as its own: they stay in its manifest after an upgrade.
    await upgrade(release, ns, ["operator.logLevel=debug"]);
    expect(await revision(release, ns)).toEqual({ version: 2, status: "deployed" });
    expect(crdKinds(await managed(release, ns))).toEqual(CRDS.map((n) => `CustomResourceDefinition/${n}`));

    const uninstalled = await helmOk(["uninstall", release, "-n", ns]);
    expect(uninstalled.stdout).toContain("kept due to the resource policy");
    expect((await crds()).map((c) => c?.metadata?.name)).toEqual(CRDS);
    expect(await routeNames(ns)).toEqual(["assistant", "summarizer", "support-bot"]);
  });

  it("leaves the CRDs to the release that owns them when a second release is installed and upgraded", async () => {
    await removeCrds();
    const first = { ns: await testNamespace(admin, "helm-first"), release: releaseName() };
    await install(first.release, first.ns);
    const owned = (await crds()).map((c) => c?.metadata?.resourceVersion);

    const second = { ns: await testNamespace(admin, "helm-second"), release: releaseName() };
    await install(second.release, second.ns);
    await upgrade(second.release, second.ns, ["operator.logLevel=debug"]);
    expect(crdKinds(await managed(second.release, second.ns))).toEqual([]);
    await helmOk(["uninstall", second.release, "-n", second.ns]);

    const crdsNow = await crds();
    expect(crdsNow.map((c) => c?.metadata?.resourceVersion)).toEqual(owned);
    expect(crdsNow.map((c) => c?.metadata?.annotations?.[RELEASE_NAME])).toEqual([first.release, first.release]);
    await helmOk(["uninstall", first.release, "-n", first.ns]);
  });
});
