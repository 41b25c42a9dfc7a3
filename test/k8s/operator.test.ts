import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AdmissionregistrationV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { RunningOperator } from "../../operator/main.js";
import { CONFIG_KEY, CONFIGMAP_NAME, CREDENTIALS_SECRET_NAME } from "../../router/config/delivery.js";
import { applyYaml, installCrds, kubectl, loadKubeConfig, testNamespace, waitFor } from "../harness/kube.js";
import { repoRoot } from "../harness/tools.js";
import {
  condition,
  credentials,
  exampleYaml,
  feedbackKey,
  routerConfig,
  startOperator,
  statusOf,
  waitForCondition,
} from "./operator-harness.js";

let kc: KubeConfig;
let kubeconfigPath: string;
const running: RunningOperator[] = [];

beforeAll(async () => {
  kubeconfigPath = inject("kubeconfigPath");
  kc = loadKubeConfig(kubeconfigPath);
  await installCrds(kc, join(repoRoot, "crds"));
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((op) => op.stop()));
});

async function operator(ns: string, identity = "test"): Promise<RunningOperator> {
  const op = await startOperator(kc, ns, identity);
  running.push(op);
  return op;
}

const custom = (): CustomObjectsApi => kc.makeApiClient(CustomObjectsApi);

async function deleteObject(ns: string, plural: string, name: string): Promise<void> {
  await custom().deleteNamespacedCustomObject({
    group: "routewise.dev",
    version: "v1alpha1",
    namespace: ns,
    plural,
    name,
  });
}

describe("CRD validation on the real API server", () => {
  const cases = join(repoRoot, "test/fixtures/crd-cases");

  it("accepts every valid fixture", async () => {
    const ns = await testNamespace(kc, "crd-valid");
    for (const f of readdirSync(join(cases, "valid"))) {
      await kubectl(kubeconfigPath, ["apply", "-n", ns, "-f", join(cases, "valid", f)]);
    }
  });

  it("rejects every invalid fixture with the schema or CEL message", async () => {
    const ns = await testNamespace(kc, "crd-invalid");
    for (const f of readdirSync(join(cases, "invalid"))) {
      const file = join(cases, "invalid", f);
      const expected = /^# expect: (.*)$/m.exec(readFileSync(file, "utf8"))?.[1] ?? "";
      const err = await kubectl(kubeconfigPath, ["apply", "-n", ns, "-f", file]).then(
        () => null,
        (e: unknown) => e as Error,
      );
      expect(err, f).not.toBeNull();
      expect(err?.message, f).toContain(expected);
    }
  });

  it("documents every field for kubectl explain", async () => {
    const out = await kubectl(kubeconfigPath, ["explain", "modelroute.spec.objective.minQualityRetention"]);
    expect(out.stdout).toContain("Minimum predicted quality relative to the baseline");
  });
});

describe("operator: reconcile into router config and status", () => {
  it("writes a feedback signing key of 32 random bytes once per gateway and keeps it across rewrites and restarts", async () => {
    const ns = await testNamespace(kc, "op-feedback-key");
    await applyYaml(kc, exampleYaml("providers.yaml", "routes.yaml", "secret.yaml"), ns);
    const op = await operator(ns);
    await op.synced;
    const key = await waitFor(() => feedbackKey(kc, ns), 15_000);
    expect(Buffer.from(key, "base64url")).toHaveLength(32);
    // A rewrite of the Secret (a route now uses the provider with a key) keeps the key.
    await applyYaml(
      kc,
      `apiVersion: routewise.dev/v1alpha1
kind: ModelRoute
metadata: { name: keyed }
spec: { modelName: keyed, candidates: [{ name: openai-gpt-4o-mini }], baseline: { name: openai-gpt-4o-mini } }
`,
      ns,
    );
    await waitFor(async () => Object.keys(await credentials(kc, ns)).length === 1, 15_000);
    expect(await feedbackKey(kc, ns)).toBe(key);
    await op.stop();
    running.splice(running.indexOf(op), 1);
    await (
      await operator(ns, "second")
    ).synced;
    expect(await feedbackKey(kc, ns)).toBe(key);
    const { status } = await statusOf(kc, "ModelGateway", ns, "routewise");
    expect(JSON.stringify(status)).not.toContain(key);
  });

  it("programs the example policies and marks every object Ready with observedGeneration", async () => {
    const ns = await testNamespace(kc, "op-examples");
    await applyYaml(kc, exampleYaml("providers.yaml", "routes.yaml", "secret.yaml"), ns);
    const op = await operator(ns);
    await op.synced;
    const config = await waitFor(() => routerConfig(kc, ns), 15_000);
    expect(config.routes.map((r) => r.name)).toEqual(["assistant", "summarizer", "support-bot"]);
    // No example route uses openai-gpt-4o-mini, so its key is not copied (issue 12: a gateway's Secret holds only
    // the keys its routes use; the multi-team suite asserts a used key is).
    expect(await credentials(kc, ns)).toEqual({});
    for (const [kind, name] of [
      ["ModelRoute", "assistant"],
      ["ModelProvider", "gpt-4o"],
    ] as const) {
      const ready = await waitForCondition(kc, { kind, namespace: ns, name }, "Ready", { status: "True" });
      expect(ready.observedGeneration).toBe(1);
      const { status } = await statusOf(kc, kind, ns, name);
      expect(condition(status, "Programmed")?.message).toContain(config.hash);
    }
    const { status } = await statusOf(kc, "ModelRoute", ns, "assistant");
    expect(status.candidateCount).toBe(5);
    // Key material only in the credentials Secret: never in the ConfigMap.
    expect(JSON.stringify(config)).not.toContain("sk-placeholder");
  });

  it("reports SecretNotFound for a missing Secret, then recovers when it is created", async () => {
    const ns = await testNamespace(kc, "op-secret");
    await applyYaml(kc, exampleYaml("providers.yaml", "routes.yaml"), ns);
    await operator(ns);
    const ref = { kind: "ModelProvider" as const, namespace: ns, name: "openai-gpt-4o-mini" };
    const c = await waitForCondition(kc, ref, "ResolvedRefs", { status: "False", reason: "SecretNotFound" });
    expect(c.message).toContain(`Secret ${ns}/openai-credentials not found`);
    await waitForCondition(kc, ref, "Ready", { status: "False", reason: "SecretNotFound" });
    await applyYaml(kc, exampleYaml("secret.yaml"), ns);
    await waitForCondition(kc, ref, "Ready", { status: "True" });
  });

  it("turns a route Ready=False within seconds when a provider disappears, leaving the rest of the config intact", async () => {
    const ns = await testNamespace(kc, "op-delete");
    await applyYaml(kc, exampleYaml("providers.yaml", "routes.yaml", "secret.yaml"), ns);
    await operator(ns);
    await waitForCondition(kc, { kind: "ModelRoute", namespace: ns, name: "support-bot" }, "Ready", { status: "True" });
    await deleteObject(ns, "modelproviders", "llama-3-8b");
    const started = Date.now();
    const c = await waitForCondition(kc, { kind: "ModelRoute", namespace: ns, name: "assistant" }, "Ready", {
      status: "False",
      reason: "ProviderNotFound",
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(c.message).toContain("llama-3-8b");
    const config = await waitFor(async () => {
      const cfg = await routerConfig(kc, ns);
      return cfg && !cfg.providers.some((p) => p.id.endsWith("/llama-3-8b")) ? cfg : null;
    }, 10_000);
    expect(config.routes.map((r) => r.name)).toEqual(["assistant", "summarizer", "support-bot"]);
    expect(config.routes.find((r) => r.name === "assistant")?.candidates).toHaveLength(4);
  });

  it("resolves two routes claiming one model name by precedence and reports Conflicted on the loser", async () => {
    const ns = await testNamespace(kc, "op-conflict");
    await applyYaml(kc, exampleYaml("providers.yaml", "routes.yaml", "secret.yaml"), ns);
    await applyYaml(
      kc,
      `apiVersion: routewise.dev/v1alpha1
kind: ModelRoute
metadata: { name: assistant-v2 }
spec:
  modelName: assistant
  priority: 5
  candidates: [{ name: gpt-4o-mini }]
  baseline: { name: gpt-4o }
`,
      ns,
    );
    await operator(ns);
    const c = await waitForCondition(kc, { kind: "ModelRoute", namespace: ns, name: "assistant" }, "Accepted", {
      status: "False",
      reason: "Conflicted",
    });
    expect(c.message).toContain(`${ns}/assistant-v2`);
    const config = await waitFor(() => routerConfig(kc, ns), 10_000);
    expect(config.routes.find((r) => r.name === "assistant")?.source.name).toBe("assistant-v2");
  });

  it("marks an object with an invalid reference Accepted=False/Invalid", async () => {
    const ns = await testNamespace(kc, "op-invalid");
    await applyYaml(kc, exampleYaml("providers.yaml"), ns);
    await applyYaml(
      kc,
      `apiVersion: routewise.dev/v1alpha1
kind: ModelRoute
metadata: { name: bad-rule }
spec:
  modelName: bad
  candidates: [{ name: gpt-4o-mini }]
  baseline: { name: gpt-4o }
  rules: [{ name: r, match: {}, pin: [llama-3-8b] }]
`,
      ns,
    );
    await operator(ns);
    const c = await waitForCondition(kc, { kind: "ModelRoute", namespace: ns, name: "bad-rule" }, "Accepted", {
      status: "False",
      reason: "Invalid",
    });
    expect(c.message).toContain("spec.rules[0].pin[0]");
    const events = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: ns });
    await waitFor(async () => {
      const list = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: ns });
      return list.items.some((e) => e.involvedObject.name === "bad-rule" && e.type === "Warning");
    }, 10_000);
    expect(events.items).toBeDefined();
  });

  it("reports WriteFailed with the API server's reason while the config write is refused, then recovers", async () => {
    const ns = await testNamespace(kc, "op-writefail");
    await applyYaml(kc, exampleYaml("providers.yaml", "routes.yaml", "secret.yaml"), ns);
    // A ValidatingAdmissionPolicy (CEL, in the API server; no webhook) refusing the router ConfigMap in this namespace.
    const policy = `rw-deny-config-${ns}`;
    await applyYaml(
      kc,
      `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: { name: ${policy} }
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["configmaps"] }
  validations:
    - expression: "object.metadata.name != '${CONFIGMAP_NAME}'"
      message: "router config writes are refused in this test"
      reason: Forbidden
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: { name: ${policy} }
spec:
  policyName: ${policy}
  validationActions: ["Deny"]
  matchResources:
    namespaceSelector:
      matchLabels: { kubernetes.io/metadata.name: ${ns} }
`,
    );
    const core = kc.makeApiClient(CoreV1Api);
    const admission = kc.makeApiClient(AdmissionregistrationV1Api);
    try {
      // Policies are compiled asynchronously: wait until a write of that ConfigMap is actually refused.
      await waitFor(
        async () => {
          try {
            await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: CONFIGMAP_NAME } } });
          } catch (err) {
            return String(err).includes("refused in this test");
          }
          await core.deleteNamespacedConfigMap({ name: CONFIGMAP_NAME, namespace: ns });
          return false;
        },
        15_000,
        { intervalMs: 250, description: "the admission policy to be enforced" },
      );
      await operator(ns);
      const ref = { kind: "ModelRoute" as const, namespace: ns, name: "assistant" };
      const failed = await waitForCondition(kc, ref, "Programmed", { status: "False", reason: "WriteFailed" });
      expect(failed.message).toContain("HTTP 403");
      expect(failed.message).toContain("router config writes are refused in this test");
      expect(failed.message).not.toContain("sk-placeholder");
      await waitForCondition(kc, ref, "Ready", { status: "False", reason: "WriteFailed" });
      expect(await routerConfig(kc, ns)).toBeNull();

      await admission.deleteValidatingAdmissionPolicyBinding({ name: policy });
      // Retried with per-key backoff (250 ms doubling): programmed within seconds once the API accepts the write.
      await waitForCondition(kc, ref, "Programmed", { status: "True" }, 30_000);
      expect((await routerConfig(kc, ns))?.routes.map((r) => r.name)).toContain("assistant");
    } finally {
      await admission.deleteValidatingAdmissionPolicyBinding({ name: policy }).catch(() => undefined);
      await admission.deleteValidatingAdmissionPolicy({ name: policy }).catch(() => undefined);
    }
  });

  it("reports SecretKeyNotFound, ProviderNotReady and NoCandidates with their reasons", async () => {
    const ns = await testNamespace(kc, "op-reasons");
    await applyYaml(kc, exampleYaml("providers.yaml"), ns);
    await applyYaml(
      kc,
      `apiVersion: v1
kind: Secret
metadata: { name: openai-credentials }
stringData: { wrongKey: x }
---
apiVersion: routewise.dev/v1alpha1
kind: ModelRoute
metadata: { name: uses-broken }
spec:
  modelName: uses-broken
  candidates: [{ name: openai-gpt-4o-mini }]
  baseline: { name: gpt-4o }
---
apiVersion: routewise.dev/v1alpha1
kind: ModelRoute
metadata: { name: empty-selector }
spec:
  modelName: empty-selector
  candidateSelector: { matchLabels: { tier: none } }
  baseline: { name: gpt-4o }
`,
      ns,
    );
    await operator(ns);
    await waitForCondition(kc, { kind: "ModelProvider", namespace: ns, name: "openai-gpt-4o-mini" }, "ResolvedRefs", {
      status: "False",
      reason: "SecretKeyNotFound",
    });
    await waitForCondition(kc, { kind: "ModelRoute", namespace: ns, name: "uses-broken" }, "ResolvedRefs", {
      status: "False",
      reason: "ProviderNotReady",
    });
    const programmed = await waitForCondition(
      kc,
      { kind: "ModelRoute", namespace: ns, name: "uses-broken" },
      "Programmed",
      {
        status: "False",
        reason: "NotProgrammed",
      },
    );
    expect(programmed.message).toContain("left out of the router config");
    await waitForCondition(kc, { kind: "ModelRoute", namespace: ns, name: "empty-selector" }, "ResolvedRefs", {
      status: "False",
      reason: "NoCandidates",
    });
  });

  it("writes nothing when restarted on an unchanged policy set (resourceVersions unchanged)", async () => {
    const ns = await testNamespace(kc, "op-restart");
    await applyYaml(kc, exampleYaml("providers.yaml", "routes.yaml", "secret.yaml"), ns);
    const first = await operator(ns, "first");
    await first.synced;
    await waitForCondition(kc, { kind: "ModelRoute", namespace: ns, name: "assistant" }, "Ready", { status: "True" });
    await first.queue()?.idle();
    const core = kc.makeApiClient(CoreV1Api);
    const cmBefore = (await core.readNamespacedConfigMap({ name: CONFIGMAP_NAME, namespace: ns })).metadata
      ?.resourceVersion;
    const secretBefore = (await core.readNamespacedSecret({ name: CREDENTIALS_SECRET_NAME, namespace: ns })).metadata
      ?.resourceVersion;
    const routeBefore = (await statusOf(kc, "ModelRoute", ns, "assistant")).resourceVersion;
    const dataBefore = (await core.readNamespacedConfigMap({ name: CONFIGMAP_NAME, namespace: ns })).data?.[CONFIG_KEY];
    await first.stop();
    running.splice(running.indexOf(first), 1);

    const second = await operator(ns, "second");
    await second.synced;
    await second.queue()?.idle();
    expect((await core.readNamespacedConfigMap({ name: CONFIGMAP_NAME, namespace: ns })).data?.[CONFIG_KEY]).toBe(
      dataBefore,
    );
    expect(
      (await core.readNamespacedConfigMap({ name: CONFIGMAP_NAME, namespace: ns })).metadata?.resourceVersion,
    ).toBe(cmBefore);
    expect(
      (await core.readNamespacedSecret({ name: CREDENTIALS_SECRET_NAME, namespace: ns })).metadata?.resourceVersion,
    ).toBe(secretBefore);
    expect((await statusOf(kc, "ModelRoute", ns, "assistant")).resourceVersion).toBe(routeBefore);
    const metrics = await (await fetch(`${second.metricsUrl}/metrics`)).text();
    expect(metrics).not.toMatch(/routewise_operator_writes_total\{object="ConfigMap"\}/);
  });

  it("updates observedGeneration when a spec changes", async () => {
    const ns = await testNamespace(kc, "op-generation");
    await applyYaml(kc, exampleYaml("providers.yaml", "routes.yaml", "secret.yaml"), ns);
    await operator(ns);
    await waitForCondition(kc, { kind: "ModelRoute", namespace: ns, name: "summarizer" }, "Ready", { status: "True" });
    await kubectl(kubeconfigPath, [
      "patch",
      "-n",
      ns,
      "modelroute",
      "summarizer",
      "--type=merge",
      "-p",
      '{"spec":{"objective":{"minQualityRetention":0.8}}}',
    ]);
    const ready = await waitFor(async () => {
      const { status } = await statusOf(kc, "ModelRoute", ns, "summarizer");
      const c = condition(status, "Ready");
      return c?.observedGeneration === 2 ? c : null;
    }, 10_000);
    expect(ready.status).toBe("True");
    const config = await waitFor(async () => {
      const cfg = await routerConfig(kc, ns);
      return cfg?.routes.find((r) => r.name === "summarizer")?.objective.minQualityRetention === 0.8 ? cfg : null;
    }, 10_000);
    expect(config).toBeTruthy();
  });
});

describe("operator: leader election", () => {
  it("reports a standby replica ready once it has found the Lease held, so a Deployment of two completes", async () => {
    const ns = await testNamespace(kc, "op-standby");
    const a = await operator(ns, "replica-a");
    await a.synced;
    const b = await operator(ns, "replica-b");
    const readyz = async (op: RunningOperator): Promise<number> => (await fetch(`${op.metricsUrl}/readyz`)).status;
    await waitFor(async () => (await readyz(b)) === 200, 20_000, { description: "the standby's /readyz 200" });
    expect(await readyz(a)).toBe(200);
    const leaderGauge = /^routewise_operator_leader (\d)/m.exec(await (await fetch(`${b.metricsUrl}/metrics`)).text());
    expect(leaderGauge?.[1]).toBe("0");
    // A standby stopped before it ever led: its `synced` rejects (it never reconciled), and says why.
    await b.stop();
    await expect(b.synced).rejects.toThrow("leader election stopped");
  });

  it("lets only one of two replicas write, and hands over when the leader stops", async () => {
    const ns = await testNamespace(kc, "op-leader");
    await applyYaml(kc, exampleYaml("providers.yaml", "routes.yaml", "secret.yaml"), ns);
    const a = await operator(ns, "replica-a");
    await a.synced;
    const b = await operator(ns, "replica-b");
    await new Promise((r) => setTimeout(r, 3_000));
    const leaderGauge = async (op: RunningOperator): Promise<string | undefined> =>
      /^routewise_operator_leader (\d)/m.exec(await (await fetch(`${op.metricsUrl}/metrics`)).text())?.[1];
    expect(await leaderGauge(a)).toBe("1");
    expect(await leaderGauge(b)).toBe("0");
    const lease = await kubectl(kubeconfigPath, [
      "get",
      "lease",
      "-n",
      ns,
      "routewise-operator",
      "-o",
      "jsonpath={.spec.holderIdentity}",
    ]);
    expect(lease.stdout).toBe("replica-a");

    await a.stop();
    running.splice(running.indexOf(a), 1);
    await b.synced;
    expect(await leaderGauge(b)).toBe("1");
    await kubectl(kubeconfigPath, ["delete", "-n", ns, "modelroute", "summarizer"]);
    await waitFor(async () => {
      const cfg = await routerConfig(kc, ns);
      return cfg && !cfg.routes.some((r) => r.name === "summarizer");
    }, 10_000);
  });
});
