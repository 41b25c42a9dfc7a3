/**
 * Operator scale benchmark: 200 ModelProviders and 1,000 ModelRoutes on a real kube-apiserver (started here
 * with the test harness), all attached to one ModelGateway (routes without parentRefs attach to the gateway
 * "routewise" of their namespace, which must exist since the multi-team change). Prints JSON: pure compile time,
 * and wall time from operator start to (a) the router ConfigMap holding all routes and (b) every object's status
 * written, and how many status writes that took (one per object: providers + routes + the gateway). Not a test.
 *
 *   npm run bench:operator [-- --providers 200 --routes 1000]
 */
import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import { parseArgs } from "node:util";
import { validateProvider, validateRoute } from "../operator/api/v1alpha1/validate.js";
import type { ModelProvider, ModelRoute } from "../operator/api/v1alpha1/types.js";
import { compile } from "../operator/compile/compile.js";
import { runOperator } from "../operator/main.js";
import { startControlPlane } from "../test/harness/control-plane.js";
import { installCrds, testNamespace, waitFor } from "../test/harness/kube.js";
import { repoRoot } from "../test/harness/tools.js";
import { DEFAULT_GATEWAY_NAME } from "../router/config/delivery.js";
import { ensureGateway, routerConfig } from "../test/k8s/operator-harness.js";
import { join } from "node:path";

const { values } = parseArgs({
  options: {
    providers: { type: "string", default: "200" },
    routes: { type: "string", default: "1000" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log("npm run bench:operator [-- --providers 200 --routes 1000]  (prints one JSON line)");
  process.exit(0);
}
const P = Number(values.providers);
const R = Number(values.routes);

function provider(i: number): ModelProvider {
  return {
    apiVersion: "routewise.dev/v1alpha1",
    kind: "ModelProvider",
    metadata: { name: `p-${i}` },
    spec: {
      type: "simulated",
      model: `model-${i}`,
      pricing: { inputPerMillion: (i % 50) / 10, outputPerMillion: (i % 50) / 5 },
      quality: { score: 50 + (i % 45) },
    },
  };
}

function route(i: number): ModelRoute {
  const c = [i % P, (i * 7 + 1) % P, (i * 13 + 2) % P, (i * 31 + 3) % P];
  return {
    apiVersion: "routewise.dev/v1alpha1",
    kind: "ModelRoute",
    metadata: { name: `r-${i}` },
    spec: {
      modelName: `route-${i}`,
      candidates: [...new Set(c)].map((n) => ({ name: `p-${n}` })),
      baseline: { name: `p-${c[0] ?? 0}` },
      objective: { minQualityRetention: 0.9 },
      rules: [{ name: "code", match: { tasks: ["code"] }, pin: [`p-${c[0] ?? 0}`] }],
    },
  };
}

async function createAll(kc: KubeConfig, ns: string): Promise<void> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const jobs = [
    ...Array.from(
      { length: P },
      (_, i) => () =>
        api.createNamespacedCustomObject({
          group: "routewise.dev",
          version: "v1alpha1",
          namespace: ns,
          plural: "modelproviders",
          body: provider(i),
        }),
    ),
    ...Array.from(
      { length: R },
      (_, i) => () =>
        api.createNamespacedCustomObject({
          group: "routewise.dev",
          version: "v1alpha1",
          namespace: ns,
          plural: "modelroutes",
          body: route(i),
        }),
    ),
  ];
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < jobs.length) await jobs[next++]?.();
    }),
  );
}

function pureCompileMs(): number {
  const providers = Array.from({ length: P }, (_, i) => {
    const r = validateProvider({ ...provider(i), metadata: { name: `p-${i}`, namespace: "bench" } });
    if (!r.ok) throw new Error("invalid provider");
    return r.object;
  });
  const routes = Array.from({ length: R }, (_, i) => {
    const r = validateRoute({ ...route(i), metadata: { name: `r-${i}`, namespace: "bench" } });
    if (!r.ok) throw new Error("invalid route");
    return r.object;
  });
  const t0 = performance.now();
  compile({ providers, routes, secrets: [] });
  return performance.now() - t0;
}

const plane = await startControlPlane();
try {
  const kc = plane.kubeConfig();
  await installCrds(kc, join(repoRoot, "crds"));
  const ns = await testNamespace(kc, "bench-scale");
  await ensureGateway(kc, ns, DEFAULT_GATEWAY_NAME);
  await createAll(kc, ns);
  const started = performance.now();
  const op = await runOperator({
    kubeConfig: kc,
    namespace: ns,
    watchNamespaces: [ns],
    logger: pino({ level: "silent" }),
    metricsHost: "127.0.0.1",
    metricsPort: 0,
    leaderElection: true,
    identity: "bench",
  });
  await waitFor(async () => ((await routerConfig(kc, ns))?.routes.length ?? 0) === R, 120_000, { intervalMs: 20 });
  const configMs = performance.now() - started;
  await op.synced;
  const allMs = performance.now() - started;
  // Status writes to the policy objects: one each on a cold start (not one more per reconcile that ran before the
  // cache had seen the writes).
  const writes = (await op.metrics.writes.get()).values
    .filter((v) => ["ModelProvider", "ModelRoute", "ModelGateway"].includes(String(v.labels["object"])))
    .reduce((n, v) => n + v.value, 0);
  await op.stop();
  console.log(
    JSON.stringify({
      providers: P,
      routes: R,
      compile_ms: Math.round(pureCompileMs()),
      configmap_programmed_ms: Math.round(configMs),
      all_status_written_ms: Math.round(allMs),
      status_writes: writes,
      objects: P + R + 1,
      target_ms: 5000,
      node: process.version,
    }),
  );
} finally {
  await plane.stop();
}
