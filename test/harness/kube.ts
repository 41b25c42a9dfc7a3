import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  ApiextensionsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  V1Namespace,
  V1ObjectMeta,
  type KubernetesObject,
  type V1CustomResourceDefinition,
} from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { isRecord } from "../../router/config/json.js";
import { HarnessError, toolPath } from "./tools.js";
import { waitFor } from "./wait.js";

export { waitFor, type WaitOptions } from "./wait.js";

const execFileAsync = promisify(execFile);

/** Field manager used for server-side apply by the test helpers. */
export const FIELD_MANAGER = "routewise-tests";

/**
 * Builds an instance of a client-node model class (V1Namespace, V1ObjectMeta, ...) from plain props.
 * The typed APIs want class instances; lint forbids passing object literals where a class is expected.
 */
export function apiObject<T extends object>(ctor: new () => T, props: Partial<T>): T {
  return Object.assign(new ctor(), props);
}

/** Loads a kubeconfig file (e.g. the one globalSetup provides as inject("kubeconfigPath")). */
export function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** A KubeConfig for the same cluster as `kc` that authenticates with a bearer token. */
export function kubeConfigForToken(kc: KubeConfig, token: string): KubeConfig {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new HarnessError("the kubeconfig has no current cluster");
  const out = new KubeConfig();
  out.loadFromOptions({
    clusters: [cluster],
    users: [{ name: "token-user", token }],
    contexts: [{ name: "token", cluster: cluster.name, user: "token-user", namespace: "default" }],
    currentContext: "token",
  });
  return out;
}

/** Creates a uniquely named namespace and returns its name. It is left in place: the run's cluster is thrown away. */
export async function testNamespace(kc: KubeConfig, prefix = "rw-test"): Promise<string> {
  const suffix = `${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
  const name = `${prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 40)}-${suffix}`;
  const metadata = apiObject(V1ObjectMeta, { name, labels: { "routewise.dev/test": "true" } });
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: apiObject(V1Namespace, { metadata }) });
  return name;
}

function asKubernetesObject(value: unknown, where: string): KubernetesObject {
  if (!isRecord(value) || typeof value["apiVersion"] !== "string" || typeof value["kind"] !== "string") {
    throw new HarnessError(`${where}: not a Kubernetes object (apiVersion and kind are required)`);
  }
  return value;
}

/** Parses multi-document YAML into objects; empty documents are skipped and `kind: *List` is flattened. */
export function parseObjects(yamlText: string, source = "YAML"): KubernetesObject[] {
  const objects: KubernetesObject[] = [];
  parseAllDocuments(yamlText).forEach((doc, index) => {
    const where = `${source} document ${index + 1}`;
    if (doc.errors.length > 0) throw new HarnessError(`${where}: ${doc.errors[0]?.message ?? "parse error"}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    const list: unknown = isRecord(value) ? value["items"] : undefined;
    const items: unknown[] = Array.isArray(list) ? list : [value];
    items.forEach((item) => objects.push(asKubernetesObject(item, where)));
  });
  return objects;
}

/** `kc` with its current context's default namespace replaced. */
function withNamespace(kc: KubeConfig, namespace: string): KubeConfig {
  const out = new KubeConfig();
  out.loadFromOptions({
    clusters: kc.clusters,
    users: kc.users,
    contexts: kc.contexts.map((c) => (c.name === kc.currentContext ? { ...c, namespace } : c)),
    currentContext: kc.currentContext,
  });
  return out;
}

function describe(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace;
  return `${obj.kind ?? "?"} ${ns === undefined ? "" : `${ns}/`}${obj.metadata?.name ?? "?"}`;
}

/**
 * Server-side applies every object in `yamlText` (force, field manager {@link FIELD_MANAGER}), in order.
 * Namespaced objects without metadata.namespace go to `namespace` (default: the kubeconfig's).
 */
export async function applyYaml(kc: KubeConfig, yamlText: string, namespace?: string): Promise<KubernetesObject[]> {
  return applyObjects(kc, parseObjects(yamlText), namespace);
}

/** Like {@link applyYaml}, for objects already parsed. */
export async function applyObjects(
  kc: KubeConfig,
  objects: readonly KubernetesObject[],
  namespace?: string,
): Promise<KubernetesObject[]> {
  const client = KubernetesObjectApi.makeApiClient(namespace === undefined ? kc : withNamespace(kc, namespace));
  const applied: KubernetesObject[] = [];
  for (const obj of objects) {
    try {
      applied.push(await client.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply));
    } catch (error) {
      throw new HarnessError(`server-side apply of ${describe(obj)} failed`, { cause: error });
    }
  }
  return applied;
}

function isEstablished(crd: V1CustomResourceDefinition): boolean {
  return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ?? false;
}

/**
 * Applies every CustomResourceDefinition found in the *.yaml / *.yml files of `dir` and waits until each
 * is Established. Other kinds in those files are ignored. Returns the CRD names.
 */
export async function installCrds(kc: KubeConfig, dir: string, timeoutMs = 30_000): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const crds: KubernetesObject[] = [];
  for (const file of files) {
    const objects = parseObjects(await readFile(join(dir, file), "utf8"), join(dir, file));
    crds.push(...objects.filter((o) => o.kind === "CustomResourceDefinition"));
  }
  if (crds.length === 0) throw new HarnessError(`no CustomResourceDefinition found in ${dir}`);
  // kubectl, not client-node: client-node's typed serializer drops x-kubernetes-validations (CEL) from CRDs.
  const kubeconfigPath = join(await mkdtemp(join(tmpdir(), "routewise-kc-")), "kubeconfig");
  await writeFile(kubeconfigPath, kc.exportConfig());
  for (const file of files)
    await kubectl(kubeconfigPath, [
      "apply",
      "--server-side",
      "--force-conflicts",
      "--field-manager",
      FIELD_MANAGER,
      "-f",
      join(dir, file),
    ]);
  const names = crds.map((c) => c.metadata?.name ?? "");
  const api = kc.makeApiClient(ApiextensionsV1Api);
  await Promise.all(
    names.map((name) =>
      waitFor(async () => isEstablished(await api.readCustomResourceDefinition({ name })), timeoutMs, {
        description: `CRD ${name} to be Established`,
      }),
    ),
  );
  return names;
}

/** Output of a kubectl run. */
export interface KubectlResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs .tools/bin/kubectl with `--kubeconfig`; rejects with stderr in the message on a non-zero exit. */
export async function kubectl(kubeconfigPath: string, args: readonly string[]): Promise<KubectlResult> {
  const argv = ["--kubeconfig", kubeconfigPath, ...args];
  try {
    const { stdout, stderr } = await execFileAsync(toolPath("kubectl"), argv, { maxBuffer: 64 * 1024 * 1024 });
    return { stdout, stderr };
  } catch (error) {
    const stderr = isRecord(error) && typeof error["stderr"] === "string" ? error["stderr"] : "";
    throw new HarnessError(`kubectl ${args.join(" ")} failed: ${stderr.trim()}`, { cause: error });
  }
}
