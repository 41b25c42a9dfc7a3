import { join } from "node:path";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import OpenAI from "openai";
import { pino } from "pino";
import { afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { CONFIGMAP_NAME, FEEDBACK_KEY_CREDENTIAL, readMountedConfig } from "../../router/config/delivery.js";
import type { RunningOperator } from "../../operator/main.js";
import { createAdapters } from "../../router/providers/registry.js";
import { startRouter, type RunningRouter } from "../../router/main.js";
import { applyYaml, installCrds, kubeConfigForToken, loadKubeConfig, testNamespace, waitFor } from "../harness/kube.js";
import { repoRoot } from "../harness/tools.js";
import {
  ensureGateway,
  installShippedRbac,
  exampleYaml,
  mountLikeKubelet,
  routerConfig,
  startOperator,
  waitForCondition,
  writeMount,
} from "./operator-harness.js";

let admin: KubeConfig;
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  admin = loadKubeConfig(inject("kubeconfigPath"));
  await installCrds(admin, join(repoRoot, "crds"));
});

afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

/** The gateway is created as admin (as the chart does); the operator then runs with the credentials given. */
async function operatorAs(kc: KubeConfig, ns: string): Promise<RunningOperator> {
  await ensureGateway(admin, ns);
  const op = await startOperator(kc, ns, { gateway: false });
  stops.push(() => op.stop());
  return op;
}

function installRbac(ns: string): Promise<string> {
  return installShippedRbac(admin, ns);
}

describe("operator RBAC", () => {
  it("runs with a token of the shipped ServiceAccount and its Role/ClusterRole, and that suffices", async () => {
    const ns = await testNamespace(admin, "op-rbac");
    const token = await installRbac(ns);
    await applyYaml(admin, exampleYaml("providers.yaml", "routes.yaml", "secret.yaml"), ns);
    const op = await operatorAs(kubeConfigForToken(admin, token), ns);
    await op.synced;
    await waitForCondition(admin, { kind: "ModelRoute", namespace: ns, name: "assistant" }, "Ready", {
      status: "True",
    });
    const config = await waitFor(() => routerConfig(admin, ns), 10_000);
    expect(config.routes).toHaveLength(3);
    const metrics = await (await fetch(`${op.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/routewise_operator_reconciles_total\{result="success"\} [1-9]/);
    expect(metrics).not.toMatch(/routewise_operator_reconciles_total\{result="error"\}/);
  });

  it("is denied what the Role does not grant (e.g. deleting ConfigMaps)", async () => {
    const ns = await testNamespace(admin, "op-rbac-deny");
    const token = await installRbac(ns);
    const core = kubeConfigForToken(admin, token).makeApiClient(CoreV1Api);
    await expect(core.listNamespacedPod({ namespace: ns })).rejects.toThrow(/403|forbidden/i);
    await expect(core.deleteNamespacedConfigMap({ name: CONFIGMAP_NAME, namespace: ns })).rejects.toThrow(
      /403|forbidden/i,
    );
  });
});

describe("operator + router end to end", () => {
  it("a ModelRoute applied in the cluster decides where the router sends a request", async () => {
    const ns = await testNamespace(admin, "e2e");
    await applyYaml(admin, exampleYaml("providers.yaml", "routes.yaml", "secret.yaml"), ns);
    await operatorAs(admin, ns);
    await waitFor(() => routerConfig(admin, ns), 15_000);

    const dirs = await mountLikeKubelet(admin, ns);
    const router: RunningRouter = await startRouter({
      host: "127.0.0.1",
      port: 0,
      metricsPort: 0,
      logger: pino({ level: "silent" }),
      load: () => Promise.resolve(readMountedConfig(dirs)),
      watchPaths: [dirs.config, dirs.credentials],
      adapters: createAdapters(),
    });
    stops.push(() => router.stop());
    // No example route uses the one provider with a key, so the gateway's Secret holds none (issue 12): only the
    // gateway's feedback signing key (ADR 10).
    expect([...(router.state.current?.credentials.keys() ?? [])]).toEqual([FEEDBACK_KEY_CREDENTIAL]);
    const client = new OpenAI({ baseURL: `${router.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const before = await client.chat.completions
      .create({ model: "support-bot", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    expect(before.response.headers.get("x-routewise-provider")).toMatch(/llama-3-/);

    // A new policy in the cluster: pin support-bot to gpt-4o-mini.
    await applyYaml(
      admin,
      `apiVersion: routewise.dev/v1alpha1
kind: ModelRoute
metadata: { name: support-bot }
spec:
  modelName: support-bot
  candidates: [{ name: gpt-4o-mini }, { name: llama-3-8b }]
  baseline: { name: gpt-4o }
  rules: [{ name: all-to-mini, match: {}, pin: [gpt-4o-mini] }]
`,
      ns,
    );
    await waitFor(
      async () => (await routerConfig(admin, ns))?.routes.find((r) => r.name === "support-bot")?.rules.length === 1,
      10_000,
    );
    await writeMount(admin, ns, dirs);
    await router.reloader.reload();
    const after = await client.chat.completions
      .create({ model: "support-bot", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    expect(after.response.headers.get("x-routewise-provider")).toBe(`${ns}/gpt-4o-mini`);
    expect(after.response.headers.get("x-routewise-decision")).toContain("rule=all-to-mini");
  });
});
