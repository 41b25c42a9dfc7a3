/** Helpers for the Helm chart suites: run .tools/bin/helm hermetically and parse what it renders. */
import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { KubernetesObject } from "@kubernetes/client-node";
import { isRecord } from "../../router/config/json.js";
import { parseObjects } from "../harness/kube.js";
import { repoRoot, toolPath } from "../harness/tools.js";

const execFileAsync = promisify(execFile);

export const CHART_DIR = join(repoRoot, "helm", "routewise");
export const RELEASE = "routewise";
export const NAMESPACE = "routewise-system";

/** A route's custom classifier (classifier.custom.modelPath: /models/my-classifier) mounted from a PVC. */
export const CUSTOM_CLASSIFIER_VOLUME: readonly string[] = [
  "router.extraVolumes[0].name=my-classifier",
  "router.extraVolumes[0].persistentVolumeClaim.claimName=my-classifier",
  "router.extraVolumes[0].persistentVolumeClaim.readOnly=true",
  "router.extraVolumeMounts[0].name=my-classifier",
  "router.extraVolumeMounts[0].mountPath=/models/my-classifier",
  "router.extraVolumeMounts[0].readOnly=true",
];

/** Values that switch on every optional feature of the chart. */
export const ALL_FEATURES: readonly string[] = [
  "examples.enabled=true",
  "serviceMonitor.enabled=true",
  "prometheusRule.enabled=true",
  "grafanaDashboard.enabled=true",
  "networkPolicy.enabled=true",
  "operator.replicas=2",
  "router.apiKeys.existingSecret=routewise-api-keys",
  "state.redis.url=rediss://redis.routewise.svc:6380/0",
  "state.redis.passwordSecret.name=routewise-redis",
  "state.redis.tls.caSecret.name=routewise-redis-ca",
  ...CUSTOM_CLASSIFIER_VOLUME,
  "operator.extraVolumes[0].name=ca-bundle",
  "operator.extraVolumes[0].configMap.name=corporate-ca",
  "operator.extraVolumeMounts[0].name=ca-bundle",
  "operator.extraVolumeMounts[0].mountPath=/etc/ssl/corporate",
  "operator.extraVolumeMounts[0].readOnly=true",
];

const helmHome = mkdtempSync(join(tmpdir(), "routewise-helm-"));

/** Result of a helm run that may fail. */
export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs helm with its cache/config/data dirs in a temp dir; never rejects, returns the exit code. */
export async function helm(args: readonly string[]): Promise<HelmResult> {
  const env = {
    ...process.env,
    HELM_CACHE_HOME: join(helmHome, "cache"),
    HELM_CONFIG_HOME: join(helmHome, "config"),
    HELM_DATA_HOME: join(helmHome, "data"),
  };
  try {
    const { stdout, stderr } = await execFileAsync(toolPath("helm"), [...args], { env, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const field = (k: string): string => (isRecord(error) && typeof error[k] === "string" ? error[k] : "");
    const code = isRecord(error) && typeof error["code"] === "number" ? error["code"] : 1;
    return { code, stdout: field("stdout"), stderr: field("stderr") };
  }
}

/**
 * `helm template` of the chart with `--set` values (and extra flags, e.g. `--include-crds`); rejects with helm's
 * stderr when rendering fails.
 */
export async function renderText(
  sets: readonly string[] = [],
  namespace = NAMESPACE,
  release = RELEASE,
  flags: readonly string[] = [],
): Promise<string> {
  const args = ["template", release, CHART_DIR, "--namespace", namespace, "--kube-version", "1.28.0", ...flags];
  for (const s of sets) args.push("--set", s);
  const result = await helm(args);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr.trim()}`);
  return result.stdout;
}

/** The rendered objects of the chart with `--set` values. */
export async function render(
  sets: readonly string[] = [],
  namespace = NAMESPACE,
  release = RELEASE,
  flags: readonly string[] = [],
): Promise<KubernetesObject[]> {
  return parseObjects(await renderText(sets, namespace, release, flags), "helm template");
}

/**
 * The one object of this kind (and name, when given); throws when it is missing or ambiguous. The caller names the
 * client-node type of the kind it asks for (parsed YAML carries no runtime type to check against).
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- see above
export function find<T = KubernetesObject>(objects: readonly KubernetesObject[], kind: string, name?: string): T {
  const hits = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  if (hits.length !== 1) throw new Error(`expected one ${kind} ${name ?? ""}, found ${hits.length}`);
  return hits[0] as T;
}

/** Kinds rendered, sorted (with repeats), for on/off assertions. */
export function kinds(objects: readonly KubernetesObject[]): string[] {
  return objects.map((o) => o.kind ?? "").sort();
}
