/**
 * Issue 12 on the real API server: several teams, their routes and providers in their own namespaces, gateways that
 * decide who may attach, grants for cross-namespace providers, two installs side by side, last known good.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import OpenAI from "openai";
import { pino } from "pino";
import { afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { DEFAULT_CONTROLLER_NAME, type RunningOperator } from "../../operator/main.js";
import { readMountedConfig } from "../../router/config/delivery.js";
import { createAdapters, startRouter } from "../../router/main.js";
import { applyYaml, installCrds, loadKubeConfig, testNamespace, waitFor } from "../harness/kube.js";
import { repoRoot } from "../harness/tools.js";
import {
  credentials,
  ensureGateway,
  mountLikeKubelet,
  routerConfig,
  startOperator,
  statusOf,
  waitForCondition,
  writeMount,
  type StatusView,
} from "./operator-harness.js";

let kc: KubeConfig;
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  kc = loadKubeConfig(inject("kubeconfigPath"));
  await installCrds(kc, join(repoRoot, "crds"));
});

afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function operator(ns: string, controllerName: string, watch: string[]): Promise<RunningOperator> {
  const op = await startOperator(kc, ns, {
    gateway: false,
    controllerName,
    leaseName: `lease-${controllerName.split("/")[1] ?? "x"}`,
    watchNamespaces: watch,
  });
  stops.push(() => op.stop());
  await op.synced;
  return op;
}

function provider(name: string, extra = ""): string {
  return `apiVersion: routewise.dev/v1alpha1
kind: ModelProvider
metadata: { name: ${name} }
spec:
  type: simulated
  model: ${name}-model
  pricing: { inputPerMillion: 1, outputPerMillion: 2 }
  quality: { score: 80 }
${extra}---
`;
}

function keyedProvider(name: string, secret: string): string {
  return provider(name, `  auth: { secretRef: { name: ${secret}, key: apiKey } }\n`).replace(
    "type: simulated",
    "type: openai\n  baseURL: http://127.0.0.1:9/v1",
  );
}

function secret(name: string, value: string): string {
  return `apiVersion: v1
kind: Secret
metadata: { name: ${name} }
stringData: { apiKey: ${value} }
---
`;
}

function route(name: string, spec: string): string {
  return `apiVersion: routewise.dev/v1alpha1
kind: ModelRoute
metadata: { name: ${name} }
spec:
${spec}---
`;
}

const parentOn = (status: StatusView, ns: string, name: string) =>
  status.parents?.find((p) => p.parentRef.namespace === ns && p.parentRef.name === name);

/** Every object's resourceVersion in the namespaces, to count writes. */
async function versions(namespaces: string[]): Promise<Record<string, string>> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const out: Record<string, string> = {};
  for (const namespace of namespaces) {
    for (const plural of ["modelproviders", "modelroutes", "modelgateways"]) {
      const list = (await custom.listNamespacedCustomObject({
        group: "routewise.dev",
        version: "v1alpha1",
        namespace,
        plural,
      })) as { items: { metadata: { name: string; resourceVersion: string } }[] };
      for (const o of list.items) out[`${plural}/${namespace}/${o.metadata.name}`] = o.metadata.resourceVersion;
    }
    for (const cm of (await core.listNamespacedConfigMap({ namespace })).items)
      out[`cm/${namespace}/${cm.metadata?.name ?? ""}`] = cm.metadata?.resourceVersion ?? "";
    for (const s of (await core.listNamespacedSecret({ namespace })).items)
      out[`secret/${namespace}/${s.metadata?.name ?? ""}`] = s.metadata?.resourceVersion ?? "";
  }
  return out;
}

describe("multi-team clusters", () => {
  it("refuses a route from a namespace the gateway does not allow: it never reaches the ConfigMap", async () => {
    const platform = await testNamespace(kc, "mt-platform");
    const team = await testNamespace(kc, "mt-hijack");
    const controller = `routewise.dev/${platform}`;
    await ensureGateway(kc, platform, "routewise", controller);
    await applyYaml(
      kc,
      provider("gpt") +
        route("assistant", "  modelName: assistant\n  candidates: [{ name: gpt }]\n  baseline: { name: gpt }\n"),
      platform,
    );
    await applyYaml(
      kc,
      keyedProvider("evil", "evil-key") +
        secret("evil-key", "sk-stolen-route") +
        route(
          "assistant",
          `  modelName: assistant\n  priority: 1000\n  parentRefs: [{ name: routewise, namespace: ${platform} }]\n  candidates: [{ name: evil }]\n  baseline: { name: evil }\n`,
        ),
      team,
    );
    await operator(platform, controller, [platform, team]);
    const refused = await waitFor(async () => {
      const { status } = await statusOf(kc, "ModelRoute", team, "assistant");
      const entry = parentOn(status, platform, "routewise");
      return entry?.conditions.some((c) => c.type === "Accepted" && c.reason === "NotAllowedByParent")
        ? status
        : undefined;
    }, 20_000);
    expect(parentOn(refused, platform, "routewise")?.controllerName).toBe(controller);
    const config = await waitFor(() => routerConfig(kc, platform), 15_000);
    expect(config.routes.map((r) => `${r.source.namespace}/${r.name}`)).toEqual([`${platform}/assistant`]);
    expect(config.providers.map((p) => p.id)).toEqual([`${platform}/gpt`]);
    expect(JSON.stringify(await credentials(kc, platform))).not.toContain("sk-stolen-route");
  });

  it("lets a team use a platform provider only through a ModelReferenceGrant, and copies only that key", async () => {
    const platform = await testNamespace(kc, "mt-grant-platform");
    const team = await testNamespace(kc, "mt-grant-team");
    const controller = `routewise.dev/${platform}`;
    await ensureGateway(kc, platform, "routewise", controller, { allowedRoutes: { namespaces: { from: "All" } } });
    await applyYaml(
      kc,
      keyedProvider("gpt", "platform-key") +
        secret("platform-key", "sk-platform") +
        keyedProvider("unused", "other-key") +
        secret("other-key", "sk-unused"),
      platform,
    );
    await applyYaml(
      kc,
      route(
        "bot",
        `  modelName: team-bot\n  parentRefs: [{ name: routewise, namespace: ${platform} }]\n  candidates: [{ name: gpt, namespace: ${platform} }]\n  baseline: { name: gpt, namespace: ${platform} }\n`,
      ),
      team,
    );
    await operator(platform, controller, [platform, team]);
    await waitForCondition(kc, { kind: "ModelRoute", namespace: team, name: "bot" }, "ResolvedRefs", {
      status: "False",
      reason: "RefNotPermitted",
    });
    await applyYaml(
      kc,
      `apiVersion: routewise.dev/v1alpha1
kind: ModelReferenceGrant
metadata: { name: team-may-use-gpt }
spec:
  from: [{ namespace: ${team} }]
  to: [{ name: gpt }]
`,
      platform,
    );
    await waitForCondition(
      kc,
      { kind: "ModelRoute", namespace: team, name: "bot" },
      "Ready",
      { status: "True" },
      20_000,
    );
    const config = await waitFor(async () => {
      const c = await routerConfig(kc, platform);
      return c?.routes.some((r) => r.name === "team-bot") ? c : undefined;
    }, 15_000);
    expect(config.providers.map((p) => p.id)).toEqual([`${platform}/gpt`]);
    expect(await credentials(kc, platform)).toEqual({ [`${platform}.gpt`]: "sk-platform" });
  });

  it("keeps serving a route's last good version when a typo'd baseline makes its new generation fail", async () => {
    const ns = await testNamespace(kc, "mt-lkg");
    const controller = `routewise.dev/${ns}`;
    await ensureGateway(kc, ns, "routewise", controller);
    const assistant = (baseline: string) =>
      route(
        "assistant",
        `  modelName: assistant\n  candidates: [{ name: cheap }, { name: strong }]\n  baseline: { name: ${baseline} }\n`,
      );
    await applyYaml(kc, provider("cheap") + provider("strong") + assistant("strong"), ns);
    await operator(ns, controller, [ns]);
    await waitForCondition(kc, { kind: "ModelRoute", namespace: ns, name: "assistant" }, "Ready", { status: "True" });

    // A router on the mounted config serves generation 1.
    const dirs = await mountLikeKubelet(kc, ns);
    const router = await startRouter({
      host: "127.0.0.1",
      port: 0,
      metricsPort: 0,
      logger: pino({ level: "silent" }),
      load: () => Promise.resolve(readMountedConfig(dirs)),
      watchPaths: [dirs.config, dirs.credentials],
      pollIntervalMs: 60_000,
      adapters: createAdapters(),
    });
    stops.push(() => router.stop());
    const client = new OpenAI({ baseURL: `${router.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const ask = (model: string) =>
      client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] }).withResponse();
    expect((await ask("assistant")).response.status).toBe(200);

    // The typo, and a new route beside it, so the gateway's config does change and the router reloads it.
    await applyYaml(
      kc,
      assistant("strnog") +
        route("other", "  modelName: other\n  candidates: [{ name: cheap }]\n  baseline: { name: cheap }\n"),
      ns,
    );
    const programmed = await waitForCondition(
      kc,
      { kind: "ModelRoute", namespace: ns, name: "assistant" },
      "Programmed",
      {
        status: "True",
        reason: "ServingLastGood",
      },
    );
    expect(programmed.message).toMatch(/serving generation 1, the last good one; generation 2 is not programmed/);
    const { status } = await statusOf(kc, "ModelRoute", ns, "assistant");
    expect(status.servingGeneration).toBe(1);
    expect(status.conditions?.find((c) => c.type === "ResolvedRefs")).toMatchObject({
      status: "False",
      reason: "ProviderNotFound",
    });
    const config = await waitFor(async () => {
      const c = await routerConfig(kc, ns);
      return c?.routes.some((r) => r.name === "other") ? c : undefined;
    }, 15_000);
    expect(config.routes.find((r) => r.name === "assistant")?.source.generation).toBe(1);

    // After the reload the router serves the new route, and still answers for the typo'd one.
    await writeMount(kc, ns, dirs);
    await router.reloader.reload();
    expect(router.state.current?.config.hash).toBe(config.hash);
    expect((await ask("other")).response.status).toBe(200);
    expect((await ask("assistant")).response.status).toBe(200);
  });

  it("programs the README's multi-team example (docs/examples/multi-team.yaml) applied as it is, namespaces renamed", async () => {
    const platform = await testNamespace(kc, "mt-readme-platform");
    const teamA = await testNamespace(kc, "mt-readme-team-a");
    const teamB = await testNamespace(kc, "mt-readme-team-b");
    const rename: Record<string, string> = { platform, "team-a": teamA, "team-b": teamB };
    const text = readFileSync(join(repoRoot, "docs/examples/multi-team.yaml"), "utf8").replace(
      /namespace: (platform|team-a|team-b)\b/g,
      (_, ns: string) => `namespace: ${rename[ns] ?? ns}`,
    );
    await applyYaml(kc, text);
    // As the README installs it: the chart's operator (default controller name) in the platform namespace.
    await operator(platform, DEFAULT_CONTROLLER_NAME, [platform, teamA, teamB]);
    for (const [namespace, name] of [
      [platform, "assistant"],
      [teamA, "support-bot"],
      [teamB, "summarizer"],
    ] as const)
      await waitForCondition(kc, { kind: "ModelRoute", namespace, name }, "Ready", { status: "True" }, 20_000);
    const config = await waitFor(async () => {
      const c = await routerConfig(kc, platform);
      return c?.routes.length === 3 ? c : undefined;
    }, 15_000);
    expect(config.routes.map((r) => `${r.source.namespace}/${r.name}`)).toEqual([
      `${platform}/assistant`,
      `${teamA}/team-a-support`,
      `${teamB}/team-b-summarizer`,
    ]);
    expect(config.providers.map((p) => p.id)).toEqual([`${platform}/gpt-4o`, `${platform}/gpt-4o-mini`]);
    expect(Object.values(await credentials(kc, platform))).toEqual(["sk-replace-me", "sk-replace-me"]);
    const { status } = await statusOf(kc, "ModelRoute", teamB, "summarizer");
    expect(parentOn(status, platform, "routewise")?.controllerName).toBe(DEFAULT_CONTROLLER_NAME);
  });

  it("runs two installs side by side: neither touches the other's gateway, config or statuses for 30 s", async () => {
    const a = await testNamespace(kc, "mt-install-a");
    const b = await testNamespace(kc, "mt-install-b");
    const [ca, cb] = [`routewise.dev/${a}`, `routewise.dev/${b}`];
    await ensureGateway(kc, a, "routewise", ca);
    await ensureGateway(kc, b, "routewise", cb);
    for (const [ns, key] of [
      [a, "sk-team-a"],
      [b, "sk-team-b"],
    ] as const) {
      await applyYaml(
        kc,
        keyedProvider("p", "k") +
          secret("k", key) +
          route("r", `  modelName: model-${ns}\n  candidates: [{ name: p }]\n  baseline: { name: p }\n`),
        ns,
      );
    }
    // Each operator watches both namespaces, as two cluster-wide installs would.
    await operator(a, ca, [a, b]);
    await operator(b, cb, [a, b]);
    for (const ns of [a, b])
      await waitForCondition(kc, { kind: "ModelRoute", namespace: ns, name: "r" }, "Ready", { status: "True" }, 20_000);
    expect(await credentials(kc, a)).toEqual({ [`${a}.p`]: "sk-team-a" });
    expect(await credentials(kc, b)).toEqual({ [`${b}.p`]: "sk-team-b" });
    for (const [ns, controller] of [
      [a, ca],
      [b, cb],
    ] as const) {
      const { status } = await statusOf(kc, "ModelRoute", ns, "r");
      expect(status.parents?.map((p) => p.controllerName)).toEqual([controller]);
    }
    const before = await versions([a, b]);
    await new Promise((resolve) => setTimeout(resolve, 30_000));
    expect(await versions([a, b])).toEqual(before);
  }, 90_000);

  it("garbage-collects a gateway's ConfigMap and credentials Secret when the gateway is deleted", async () => {
    const ns = await testNamespace(kc, "mt-gc");
    const controller = `routewise.dev/${ns}`;
    await ensureGateway(kc, ns, "routewise", controller);
    await applyYaml(
      kc,
      keyedProvider("p", "k") +
        secret("k", "sk-gc") +
        route("r", "  modelName: m\n  candidates: [{ name: p }]\n  baseline: { name: p }\n"),
      ns,
    );
    const op = await operator(ns, controller, [ns]);
    expect(await waitFor(() => credentials(kc, ns).catch(() => undefined), 15_000)).toEqual({ [`${ns}.p`]: "sk-gc" });
    await op.stop(); // as `helm uninstall` does: the operator goes too, so nothing re-creates the outputs
    await kc.makeApiClient(CustomObjectsApi).deleteNamespacedCustomObject({
      group: "routewise.dev",
      version: "v1alpha1",
      namespace: ns,
      plural: "modelgateways",
      name: "routewise",
    });
    const core = kc.makeApiClient(CoreV1Api);
    // The garbage collector notices a CRD's kind up to ~30 s after the CRD appears (its discovery resync).
    await waitFor(async () => {
      const left = (await core.listNamespacedSecret({ namespace: ns })).items.filter(
        (x) => x.metadata?.name === "routewise-router-credentials",
      );
      const cms = (await core.listNamespacedConfigMap({ namespace: ns })).items.filter(
        (x) => x.metadata?.name === "routewise-router",
      );
      return left.length === 0 && cms.length === 0 ? true : undefined;
    }, 90_000);
  }, 120_000);
});
