/**
 * Issue 12 / ADR 9 on the real API server: the operator watches Secrets as metadata only and reads the values of
 * the Secrets its objects reference, by name. It runs behind a recording proxy, so the tests see every byte that
 * reached it.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import type { RunningOperator } from "../../operator/main.js";
import { applyYaml, installCrds, loadKubeConfig, testNamespace, waitFor } from "../harness/kube.js";
import { startRecordingProxy, type RecordingProxy } from "../harness/recording-proxy.js";
import { repoRoot } from "../harness/tools.js";
import { credentials, startOperator, waitForCondition } from "./operator-harness.js";

let kc: KubeConfig;
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  kc = loadKubeConfig(inject("kubeconfigPath"));
  await installCrds(kc, join(repoRoot, "crds"));
});

afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

const core = (): CoreV1Api => kc.makeApiClient(CoreV1Api);
const value = (label: string): string => `sk-${label}-${randomBytes(12).toString("hex")}`;
const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");
const CREDENTIAL = (ns: string): string => `${ns}.live`;

/** A keyed provider `live` (its key in Secret `secret`) and a route that serves it, so its key is copied. */
function policies(secret: string): string {
  return `apiVersion: routewise.dev/v1alpha1
kind: ModelProvider
metadata: { name: live }
spec:
  type: openai
  baseURL: http://127.0.0.1:9/v1
  model: gpt-4o-mini
  pricing: { inputPerMillion: 1, outputPerMillion: 2 }
  quality: { score: 80 }
  auth: { secretRef: { name: ${secret}, key: apiKey } }
---
apiVersion: routewise.dev/v1alpha1
kind: ModelRoute
metadata: { name: assistant }
spec: { modelName: assistant, candidates: [{ name: live }], baseline: { name: live } }
`;
}

/** Creates (or replaces) a Secret with one key, as `kubectl create secret` would; returns its resourceVersion. */
async function putSecret(ns: string, name: string, apiKey: string): Promise<string> {
  const body = { metadata: { name, namespace: ns }, data: { apiKey: b64(apiKey) } };
  const written = await core()
    .replaceNamespacedSecret({ name, namespace: ns, body })
    .catch(() => core().createNamespacedSecret({ namespace: ns, body }));
  return written.metadata?.resourceVersion ?? "";
}

/** The operator on `ns`, behind a recording proxy. */
async function operatorBehindProxy(ns: string): Promise<{ op: RunningOperator; proxy: RecordingProxy }> {
  const proxy = await startRecordingProxy(kc);
  stops.push(() => proxy.stop());
  const op = await startOperator(proxy.kubeConfig(), ns);
  stops.push(() => op.stop());
  await op.synced;
  return { op, proxy };
}

async function metric(op: RunningOperator, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${op.metricsUrl}/metrics`)).text();
  return Number(pattern.exec(text)?.[1] ?? "NaN");
}

const HELD = /^routewise_operator_secrets_held (\S+)$/m;
const RECONCILED = /^routewise_operator_reconciles_total\{result="success"\} (\S+)$/m;

/** The proxied requests that read Secret `name` by name. */
function readsOf(proxy: RecordingProxy, ns: string, name: string): number {
  return proxy.requests.filter((r) => r.method === "GET" && r.path === `/api/v1/namespaces/${ns}/secrets/${name}`)
    .length;
}

describe("operator: Secrets are watched as metadata, only referenced ones are read", () => {
  it("never receives the value of a Secret nothing references, on its list, its watch or any read", async () => {
    const ns = await testNamespace(kc, "secret-unreferenced");
    const used = value("used");
    const unused = [value("unused"), value("unused-rotated")];
    await putSecret(ns, "openai", used);
    await putSecret(ns, "unrelated", unused[0] ?? "");
    await applyYaml(kc, policies("openai"), ns);
    const { op, proxy } = await operatorBehindProxy(ns);
    await waitFor(async () => (await credentials(kc, ns))[CREDENTIAL(ns)] === used, 15_000);
    // A change of the unreferenced Secret reaches the operator as a metadata event, and nothing more.
    const rotated = await putSecret(ns, "unrelated", unused[1] ?? "");
    const event = new RegExp(`"name":"unrelated","namespace":"${ns}","uid":"[^"]+","resourceVersion":"${rotated}"`);
    await waitFor(() => event.test(proxy.received()), 15_000, {
      description: "the unreferenced Secret's metadata event passed the proxy",
    });
    await op.queue()?.idle();

    const wire = proxy.received();
    expect(wire).toContain(b64(used)); // the proxy does see values when the operator reads (or writes) them
    for (const v of unused) {
      expect(wire).not.toContain(b64(v));
      expect(wire).not.toContain(v);
    }
    const collection = proxy.requests.filter((r) => /\/secrets(\?|$)/.test(r.path));
    expect(collection.length).toBeGreaterThanOrEqual(2); // the list, then the watch
    for (const r of collection) expect(r.accept).toMatch(/^application\/json;as=PartialObjectMetadata(List)?;/);
    expect(readsOf(proxy, ns, "unrelated")).toBe(0);
    expect(await metric(op, HELD)).toBe(1);
  });

  it("reads a referenced Secret once, again only when it changes, and reprograms with its new value", async () => {
    const ns = await testNamespace(kc, "secret-rotated");
    await putSecret(ns, "openai", value("first"));
    await applyYaml(kc, policies("openai"), ns);
    const { op, proxy } = await operatorBehindProxy(ns);
    await waitFor(async () => (await credentials(kc, ns))[CREDENTIAL(ns)] !== undefined, 15_000);
    expect(readsOf(proxy, ns, "openai")).toBe(1);
    // Reconciles with the Secret unchanged (a label on the route is an event, not a new generation): no read.
    const before = await metric(op, RECONCILED);
    await applyYaml(
      kc,
      policies("openai").replace(
        "metadata: { name: assistant }",
        'metadata: { name: assistant, labels: { touched: "yes" } }',
      ),
      ns,
    );
    await waitFor(async () => (await metric(op, RECONCILED)) > before, 15_000, { description: "a reconcile ran" });
    await op.queue()?.idle();
    expect(readsOf(proxy, ns, "openai")).toBe(1);

    const rotated = value("rotated");
    await putSecret(ns, "openai", rotated);
    await waitFor(async () => (await credentials(kc, ns))[CREDENTIAL(ns)] === rotated, 15_000, {
      description: "the gateway's Secret holds the rotated key",
    });
    expect(readsOf(proxy, ns, "openai")).toBe(1 + 1);
  });

  it("picks up a referenced Secret created after the provider that names it", async () => {
    const ns = await testNamespace(kc, "secret-late");
    await applyYaml(kc, policies("late"), ns);
    const { op } = await operatorBehindProxy(ns);
    const ref = { kind: "ModelProvider" as const, namespace: ns, name: "live" };
    await waitForCondition(kc, ref, "ResolvedRefs", { status: "False", reason: "SecretNotFound" });
    const key = value("late");
    await putSecret(ns, "late", key);
    await waitForCondition(kc, ref, "ResolvedRefs", { status: "True" });
    await waitFor(async () => (await credentials(kc, ns))[CREDENTIAL(ns)] === key, 15_000);
    expect(await metric(op, HELD)).toBe(1);
  });

  it("reports SecretNotFound once a referenced Secret is deleted, and holds its value no more", async () => {
    const ns = await testNamespace(kc, "secret-deleted");
    await putSecret(ns, "openai", value("doomed"));
    await applyYaml(kc, policies("openai"), ns);
    const { op } = await operatorBehindProxy(ns);
    const ref = { kind: "ModelProvider" as const, namespace: ns, name: "live" };
    await waitForCondition(kc, ref, "ResolvedRefs", { status: "True" });
    await core().deleteNamespacedSecret({ name: "openai", namespace: ns });
    await waitForCondition(kc, ref, "ResolvedRefs", { status: "False", reason: "SecretNotFound" });
    await op.queue()?.idle();
    expect(await metric(op, HELD)).toBe(0);
  });
});
