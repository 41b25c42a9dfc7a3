/** Helpers for the operator suites: run the operator in-process against the run's real control plane. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import { runOperator, type RunningOperator } from "../../operator/main.js";
import type { Condition } from "../../operator/api/v1alpha1/conditions.js";
import { CONFIGMAP_NAME, CREDENTIALS_SECRET_NAME, configFromConfigMap } from "../../router/config/delivery.js";
import { parseRouterConfig } from "../../router/config/parse.js";
import type { RouterConfig } from "../../router/config/types.js";
import { repoRoot } from "../harness/tools.js";
import { waitFor } from "../harness/kube.js";

export const EXAMPLES = join(repoRoot, "examples");

export async function startOperator(kc: KubeConfig, namespace: string, identity = "test"): Promise<RunningOperator> {
  const op = await runOperator({
    kubeConfig: kc,
    namespace,
    watchNamespaces: [namespace],
    logger: pino({ level: process.env["ROUTEWISE_TEST_LOG"] ?? "silent" }),
    metricsHost: "127.0.0.1",
    metricsPort: 0,
    leaderElection: true,
    identity,
    resyncMs: 60_000,
  });
  return op;
}

export function exampleYaml(...files: string[]): string {
  return files.map((f) => readFileSync(join(EXAMPLES, f), "utf8")).join("\n---\n");
}

/** The config the operator published, through the router's own gate (so a config a router would refuse fails). */
export async function routerConfig(kc: KubeConfig, namespace: string): Promise<RouterConfig | null> {
  const cm = await kc
    .makeApiClient(CoreV1Api)
    .readNamespacedConfigMap({ name: CONFIGMAP_NAME, namespace })
    .catch(() => null);
  const text = cm === null ? null : configFromConfigMap(cm);
  return text === null ? null : parseRouterConfig(JSON.parse(text));
}

export async function credentials(kc: KubeConfig, namespace: string): Promise<Record<string, string>> {
  const s = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ name: CREDENTIALS_SECRET_NAME, namespace });
  return Object.fromEntries(
    Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );
}

interface StatusView {
  observedGeneration?: number;
  candidateCount?: number;
  conditions?: Condition[];
}

export async function statusOf(kc: KubeConfig, kind: "ModelProvider" | "ModelRoute", namespace: string, name: string) {
  const api = kc.makeApiClient(CustomObjectsApi);
  const plural = kind === "ModelProvider" ? "modelproviders" : "modelroutes";
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
  ref: { kind: "ModelProvider" | "ModelRoute"; namespace: string; name: string },
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
