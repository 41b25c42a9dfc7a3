/** Helpers for the operator suites: run the operator in-process against the run's real control plane. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import { runOperator, type RunningOperator } from "../../operator/main.js";
import type { Condition } from "../../operator/api/v1alpha1/conditions.js";
import type { ModelRouteStatus } from "../../operator/api/v1alpha1/types.js";
import {
  CONFIGMAP_NAME,
  CREDENTIALS_SECRET_NAME,
  DEFAULT_GATEWAY_NAME,
  FEEDBACK_KEY_CREDENTIAL,
  configFromConfigMap,
  configMapName,
  credentialsSecretName,
} from "../../router/config/delivery.js";
import { parseRouterConfig } from "../../router/config/parse.js";
import type { RouterConfig } from "../../router/config/types.js";
import { repoRoot } from "../harness/tools.js";
import { applyYaml, waitFor } from "../harness/kube.js";

export const EXAMPLES = join(repoRoot, "examples");

export interface OperatorTestOptions {
  identity?: string;
  /** Create the default ModelGateway "routewise" (allowedRoutes Same) in the namespace first. Default true. */
  gateway?: boolean;
  controllerName?: string;
  leaseName?: string;
  watchNamespaces?: string[];
  /** Measured quality (ADR 10): the Prometheus to read, how often, and the hold after an auto shadow reset. */
  prometheusUrl?: string;
  qualityIntervalMs?: number;
  qualityHoldMs?: number;
  /** Learned quality (ADR 12): how often learning routes' evidence is read. */
  learningIntervalMs?: number;
}

export async function startOperator(
  kc: KubeConfig,
  namespace: string,
  identityOrOptions: string | OperatorTestOptions = {},
): Promise<RunningOperator> {
  const o = typeof identityOrOptions === "string" ? { identity: identityOrOptions } : identityOrOptions;
  if (o.gateway ?? true) await ensureGateway(kc, namespace, DEFAULT_GATEWAY_NAME, o.controllerName);
  const op = await runOperator({
    kubeConfig: kc,
    namespace,
    watchNamespaces: o.watchNamespaces ?? [namespace],
    ...(o.controllerName === undefined ? {} : { controllerName: o.controllerName }),
    ...(o.leaseName === undefined ? {} : { leaseName: o.leaseName }),
    ...(o.prometheusUrl === undefined ? {} : { prometheusUrl: o.prometheusUrl }),
    ...(o.qualityIntervalMs === undefined ? {} : { qualityIntervalMs: o.qualityIntervalMs }),
    ...(o.qualityHoldMs === undefined ? {} : { qualityHoldMs: o.qualityHoldMs }),
    ...(o.learningIntervalMs === undefined ? {} : { learningIntervalMs: o.learningIntervalMs }),
    logger: pino({ level: process.env["ROUTEWISE_TEST_LOG"] ?? "silent" }),
    metricsHost: "127.0.0.1",
    metricsPort: 0,
    leaderElection: true,
    identity: o.identity ?? "test",
    resyncMs: 60_000,
  });
  return op;
}

/** A ModelGateway in `namespace` (created if absent), admitting routes as `allowedRoutes` says (default Same). */
export async function ensureGateway(
  kc: KubeConfig,
  namespace: string,
  name = DEFAULT_GATEWAY_NAME,
  controllerName?: string,
  spec: Record<string, unknown> = {},
): Promise<void> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const body = {
    apiVersion: "routewise.dev/v1alpha1",
    kind: "ModelGateway",
    metadata: { name, namespace },
    spec: { ...(controllerName === undefined ? {} : { controllerName }), ...spec },
  };
  await api
    .createNamespacedCustomObject({
      group: "routewise.dev",
      version: "v1alpha1",
      namespace,
      plural: "modelgateways",
      body,
    })
    .catch((err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    });
}

export function exampleYaml(...files: string[]): string {
  return files.map((f) => readFileSync(join(EXAMPLES, f), "utf8")).join("\n---\n");
}

/** The config the operator published, through the router's own gate (so a config a router would refuse fails). */
export async function routerConfig(
  kc: KubeConfig,
  namespace: string,
  gateway = DEFAULT_GATEWAY_NAME,
): Promise<RouterConfig | null> {
  const cm = await kc
    .makeApiClient(CoreV1Api)
    .readNamespacedConfigMap({
      name: gateway === DEFAULT_GATEWAY_NAME ? CONFIGMAP_NAME : configMapName(gateway),
      namespace,
    })
    .catch(() => null);
  const text = cm === null ? null : configFromConfigMap(cm);
  return text === null ? null : parseRouterConfig(JSON.parse(text));
}

/** The provider credentials in a gateway's Secret (its feedback signing key left out: see feedbackKey()). */
export async function credentials(
  kc: KubeConfig,
  namespace: string,
  gateway = DEFAULT_GATEWAY_NAME,
): Promise<Record<string, string>> {
  const all = await secretValues(kc, namespace, gateway);
  return Object.fromEntries(Object.entries(all).filter(([k]) => k !== FEEDBACK_KEY_CREDENTIAL));
}

/** The feedback signing key in a gateway's Secret, or undefined. */
export async function feedbackKey(
  kc: KubeConfig,
  namespace: string,
  gateway = DEFAULT_GATEWAY_NAME,
): Promise<string | undefined> {
  return (await secretValues(kc, namespace, gateway))[FEEDBACK_KEY_CREDENTIAL];
}

/** Every value of a gateway's credentials Secret, decoded. */
export async function secretValues(
  kc: KubeConfig,
  namespace: string,
  gateway = DEFAULT_GATEWAY_NAME,
): Promise<Record<string, string>> {
  const name = gateway === DEFAULT_GATEWAY_NAME ? CREDENTIALS_SECRET_NAME : credentialsSecretName(gateway);
  const s = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ name, namespace });
  return Object.fromEntries(
    Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );
}

export interface StatusView {
  observedGeneration?: number;
  quality?: { retention?: number; lowerBound?: number; samples?: number; window?: string; observedTime?: string };
  savings?: { ratio?: number; usdPerHour?: number; basis?: string; window?: string };
  rollout?: { effectiveMode?: string; reason?: string; since?: string; generation?: number; resetValue?: string };
  learned?: NonNullable<ModelRouteStatus["learned"]>;
  candidateCount?: number;
  servingGeneration?: number;
  conditions?: Condition[];
  parents?: { parentRef: { namespace: string; name: string }; controllerName: string; conditions: Condition[] }[];
  budget?: { period?: string; periodStart?: string; spentUsd?: number; remainingUsd?: number };
}

export type PolicyKind = "ModelProvider" | "ModelRoute" | "ModelGateway" | "ModelClientKey";

const PLURAL: Record<PolicyKind, string> = {
  ModelProvider: "modelproviders",
  ModelRoute: "modelroutes",
  ModelGateway: "modelgateways",
  ModelClientKey: "modelclientkeys",
};

export async function statusOf(kc: KubeConfig, kind: PolicyKind, namespace: string, name: string) {
  const api = kc.makeApiClient(CustomObjectsApi);
  const plural = PLURAL[kind];
  const obj = (await api.getNamespacedCustomObject({
    group: "routewise.dev",
    version: "v1alpha1",
    namespace,
    plural,
    name,
  })) as {
    metadata: { generation: number; resourceVersion: string };
    status?: StatusView;
  };
  return {
    generation: obj.metadata.generation,
    resourceVersion: obj.metadata.resourceVersion,
    status: obj.status ?? {},
  };
}

export function condition(status: StatusView, type: string): Condition | undefined {
  return status.conditions?.find((c) => c.type === type);
}

/** Waits until the object's condition has the given status (and reason, when given). */
export async function waitForCondition(
  kc: KubeConfig,
  ref: { kind: PolicyKind; namespace: string; name: string },
  type: string,
  want: { status: string; reason?: string },
  timeoutMs = 15_000,
): Promise<Condition> {
  return waitFor(
    async () => {
      const empty: StatusView = {};
      const { status } = await statusOf(kc, ref.kind, ref.namespace, ref.name).catch(() => ({ status: empty }));
      const c = condition(status, type);
      if (c && c.status === want.status && (want.reason === undefined || c.reason === want.reason)) return c;
      return undefined;
    },
    timeoutMs,
    {
      description: `${ref.kind} ${ref.namespace}/${ref.name} ${type}=${want.status}${want.reason ? `/${want.reason}` : ""}`,
    },
  );
}

/** What a kubelet does for a router pod: project the gateway's ConfigMap and Secret into two fresh directories. */
export async function mountLikeKubelet(
  kc: KubeConfig,
  namespace: string,
  gateway = DEFAULT_GATEWAY_NAME,
): Promise<{ config: string; credentials: string }> {
  const root = mkdtempSync(join(tmpdir(), "routewise-mount-"));
  const dirs = { config: join(root, "config"), credentials: join(root, "credentials") };
  mkdirSync(dirs.config);
  mkdirSync(dirs.credentials);
  await writeMount(kc, namespace, dirs, gateway);
  return dirs;
}

/** Rewrites the mounted files from the current ConfigMap and Secret (a kubelet's sync). */
export async function writeMount(
  kc: KubeConfig,
  namespace: string,
  dirs: { config: string; credentials: string },
  gateway = DEFAULT_GATEWAY_NAME,
): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const cm = await core.readNamespacedConfigMap({ name: configMapName(gateway), namespace });
  for (const [k, v] of Object.entries(cm.data ?? {})) writeFileSync(join(dirs.config, k), v);
  for (const [k, v] of Object.entries(cm.binaryData ?? {}))
    writeFileSync(join(dirs.config, k), Buffer.from(v, "base64"));
  const secret = await core.readNamespacedSecret({ name: credentialsSecretName(gateway), namespace });
  for (const [k, v] of Object.entries(secret.data ?? {}))
    writeFileSync(join(dirs.credentials, k), Buffer.from(v, "base64"));
}

/** The shipped RBAC manifest with its namespace replaced, applied as admin; returns a token for its ServiceAccount. */
export async function installShippedRbac(admin: KubeConfig, ns: string): Promise<string> {
  const yaml = readFileSync(join(repoRoot, "operator/rbac/rbac.yaml"), "utf8")
    .replaceAll("namespace: routewise-system", `namespace: ${ns}`)
    .replaceAll("name: routewise-operator\nroleRef", `name: routewise-operator-${ns}\nroleRef`)
    .replace(
      /kind: ClusterRole\nmetadata:\n {2}name: routewise-operator/,
      `kind: ClusterRole\nmetadata:\n  name: routewise-operator-${ns}`,
    )
    .replace(/kind: ClusterRole\n {2}name: routewise-operator/, `kind: ClusterRole\n  name: routewise-operator-${ns}`);
  await applyYaml(admin, yaml);
  const token = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    name: "routewise-operator",
    namespace: ns,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const value = token.status?.token;
  if (!value) throw new Error("TokenRequest returned no token");
  return value;
}
