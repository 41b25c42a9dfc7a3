import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ApiException,
  AuthenticationV1Api,
  AuthenticationV1TokenRequest,
  CoreV1Api,
  CustomObjectsApi,
  V1ConfigMap,
  V1ObjectMeta,
  V1OwnerReference,
  V1SelfSubjectReview,
  V1TokenRequestSpec,
  VersionApi,
  type KubeConfig,
} from "@kubernetes/client-node";
import { beforeAll, describe, expect, inject, it } from "vitest";
import {
  apiObject,
  applyYaml,
  installCrds,
  kubeConfigForToken,
  kubectl,
  loadKubeConfig,
  testNamespace,
  waitFor,
} from "../harness/kube.js";
import { pinnedToolVersions } from "../harness/tools.js";

const kubeconfigPath = inject("kubeconfigPath");
let kc: KubeConfig;

beforeAll(() => {
  // inject() is typed as string, but is undefined when the globalSetup is not wired in.
  if (!(kubeconfigPath as string | undefined)) {
    throw new Error("no kubeconfigPath provided: add test/harness/global-setup.ts to the project's globalSetup");
  }
  kc = loadKubeConfig(kubeconfigPath);
});

const readerRbac = `
apiVersion: v1
kind: ServiceAccount
metadata: { name: reader }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: configmap-reader }
rules:
  - { apiGroups: [""], resources: [configmaps], verbs: [get, list] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: reader-reads-configmaps }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: configmap-reader }
subjects:
  - { kind: ServiceAccount, name: reader }
`;

/** How long the controller-manager may take to garbage-collect or to finish deleting a namespace. */
const CONTROLLER_TIMEOUT_MS = 30_000;

async function statusOf(request: Promise<unknown>): Promise<number> {
  try {
    await request;
    return 200;
  } catch (error) {
    if (error instanceof ApiException) return error.code;
    throw error;
  }
}

/** Resolves once `read` answers 404; rejects after CONTROLLER_TIMEOUT_MS. */
async function untilNotFound(read: () => Promise<unknown>, what: string): Promise<void> {
  await waitFor(async () => (await statusOf(read())) === 404, CONTROLLER_TIMEOUT_MS, {
    intervalMs: 200,
    description: `${what} to be deleted`,
  });
}

function configMap(name: string, ownerReferences?: V1OwnerReference[]): V1ConfigMap {
  const metadata = apiObject(V1ObjectMeta, ownerReferences === undefined ? { name } : { name, ownerReferences });
  return apiObject(V1ConfigMap, { metadata, data: { key: "value" } });
}

describe("real control plane", () => {
  it("serves the pinned Kubernetes version", async () => {
    const info = await kc.makeApiClient(VersionApi).getCode();
    expect(info.gitVersion).toBe(pinnedToolVersions().kubernetes);
  });

  it("creates a namespace", async () => {
    const name = await testNamespace(kc);
    const ns = await kc.makeApiClient(CoreV1Api).readNamespace({ name });
    expect(ns.status?.phase).toBe("Active");
  });

  it("authenticates a TokenRequest token and enforces RBAC on it", async () => {
    const namespace = await testNamespace(kc, "rbac");
    await applyYaml(kc, readerRbac, namespace);
    const core = kc.makeApiClient(CoreV1Api);
    const tokenRequest = await core.createNamespacedServiceAccountToken({
      name: "reader",
      namespace,
      body: apiObject(AuthenticationV1TokenRequest, {
        spec: apiObject(V1TokenRequestSpec, { audiences: [], expirationSeconds: 600 }),
      }),
    });
    const token = tokenRequest.status?.token ?? "";
    expect(token).not.toBe("");

    const asReader = kubeConfigForToken(kc, token);
    const review = await asReader
      .makeApiClient(AuthenticationV1Api)
      .createSelfSubjectReview({ body: new V1SelfSubjectReview() });
    expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${namespace}:reader`);

    const readerCore = asReader.makeApiClient(CoreV1Api);
    expect(await statusOf(readerCore.listNamespacedConfigMap({ namespace }))).toBe(200);
    expect(await statusOf(readerCore.listNamespacedSecret({ namespace }))).toBe(403);
    expect(await statusOf(readerCore.listNamespacedConfigMap({ namespace: "default" }))).toBe(403);
  });

  it("lets the tools-dir kubectl talk to it", async () => {
    const namespace = await testNamespace(kc, "kubectl");
    const { stdout } = await kubectl(kubeconfigPath, ["get", "ns", "-o", "name"]);
    expect(stdout.split("\n")).toContain(`namespace/${namespace}`);
    const version = await kubectl(kubeconfigPath, ["version", "-o", "json"]);
    const parsed = JSON.parse(version.stdout) as { serverVersion?: { gitVersion?: string } };
    expect(parsed.serverVersion?.gitVersion).toBe(pinnedToolVersions().kubernetes);
  });

  it("garbage-collects a dependent when its owner is deleted", async () => {
    const namespace = await testNamespace(kc, "gc");
    const core = kc.makeApiClient(CoreV1Api);
    const owner = await core.createNamespacedConfigMap({ namespace, body: configMap("owner") });
    const ownerReference = apiObject(V1OwnerReference, {
      apiVersion: "v1",
      kind: "ConfigMap",
      name: "owner",
      uid: owner.metadata?.uid ?? "",
    });
    await core.createNamespacedConfigMap({ namespace, body: configMap("dependent", [ownerReference]) });
    // The owner exists: the garbage collector must leave the dependent alone.
    expect(await statusOf(core.readNamespacedConfigMap({ name: "dependent", namespace }))).toBe(200);

    await core.deleteNamespacedConfigMap({ name: "owner", namespace });

    await untilNotFound(
      () => core.readNamespacedConfigMap({ name: "dependent", namespace }),
      "the dependent ConfigMap",
    );
  });

  it("finishes deleting a namespace and what is in it", async () => {
    const namespace = await testNamespace(kc, "ns-delete");
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({ namespace, body: configMap("content") });

    await core.deleteNamespace({ name: namespace });

    // Without the namespace controller it would stay Terminating, its `kubernetes` finalizer never removed.
    await untilNotFound(() => core.readNamespace({ name: namespace }), `namespace ${namespace}`);
    // GET does not check that the namespace exists: a 404 means the namespace controller deleted the content.
    expect(await statusOf(core.readNamespacedConfigMap({ name: "content", namespace }))).toBe(404);
  });

  it("installs CRDs from a directory and serves their custom resources", async () => {
    const dir = await mkdtemp(join(tmpdir(), "routewise-crds-"));
    try {
      await writeFile(join(dir, "widget.yaml"), widgetCrd);
      expect(await installCrds(kc, dir)).toEqual(["widgets.harness.routewise.dev"]);
      const namespace = await testNamespace(kc, "crd");
      await applyYaml(
        kc,
        "apiVersion: harness.routewise.dev/v1\nkind: Widget\nmetadata: { name: w1 }\nspec: { size: 3 }\n",
        namespace,
      );
      const widget = (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
        group: "harness.routewise.dev",
        version: "v1",
        namespace,
        plural: "widgets",
        name: "w1",
      })) as { spec?: { size?: number } };
      expect(widget.spec?.size).toBe(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const widgetCrd = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.harness.routewise.dev }
spec:
  group: harness.routewise.dev
  scope: Namespaced
  names: { kind: Widget, plural: widgets, singular: widget, listKind: WidgetList }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: { type: integer, minimum: 1 }
`;
