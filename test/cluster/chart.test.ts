/**
 * The chart on a real single-node cluster (test/harness/node-cluster: kubelet, containerd, kube-proxy), with the
 * locally built image (`npm run image`, imported into containerd, `imagePullPolicy: Never`). What only a real node
 * shows: pods really start and become Ready, the kubelet really swaps the mounted ConfigMap, kube-proxy routes the
 * router Service's ClusterIP (reached from the host: Service IPs are routed to the node bridge), a deleted leader
 * really hands the Lease over, a rollout really replaces pods under traffic, and garbage collection really runs.
 *
 * The tests run in order on one release: install (in beforeAll) → answers → a route edit → leader failover →
 * rollout → PDB/HPA → uninstall. The readiness test runs a second release of its own (no operator, a hand-made ConfigMap).
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, readlinkSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KUBELET_ROOT, startNodeCluster } from "../harness/node-cluster/index.js";
import { parseObjects, waitFor } from "../harness/kube.js";
import { repoRoot } from "../harness/tools.js";
import { CHART_DIR, helm } from "../helm/helm.js";
import {
  CONFIGMAP_NAME,
  CONFIG_KEY,
  CREDENTIALS_SECRET_NAME,
  configFromConfigMap,
  type ConfigMapContent,
} from "../../router/config/delivery.js";
import { ROUTER_CONFIG_VERSION } from "../../router/config/types.js";
import { DEFAULT_LEASE_NAME } from "../../operator/defaults.js";

type NodeCluster = Awaited<ReturnType<typeof startNodeCluster>>;

const NS = "routewise-system";
const RELEASE = "routewise";
const ROUTER = "routewise-router";
const ROUTER_SELECTOR = `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=router`;
const OPERATOR_SELECTOR = `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=operator`;
const ROUTER_PORT = 8080;
/** The harness's kubelet `syncFrequency` (README "How long a policy change takes to reach the routers"). */
const SYNC_FREQUENCY_S = 10;
/** The README's bound for a change to reach every router: 1.5 × syncFrequency + 10 s. */
const PROPAGATION_BOUND_MS = (1.5 * SYNC_FREQUENCY_S + 10) * 1_000;
const INSTALL_VALUES = [
  "image.repository=localhost/routewise",
  "image.tag=0.1.0",
  "image.pullPolicy=Never",
  // Two operators, so deleting the leader hands the Lease to a running one.
  "operator.replicas=2",
];
/** The rollout's client loop: requests per second, and how many may be in flight at once. */
const LOOP_RATE_PER_S = 4;
const LOOP_MAX_IN_FLIGHT = 8;
/** Successful requests the loop must see before the upgrade, and again once only new pods serve. */
const ROLLOUT_SUCCESSES_EACH_SIDE = 8;

/** The fields of pods, Leases and the other objects these tests read. */
interface Pod {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  status?: {
    podIP?: string;
    phase?: string;
    containerStatuses?: { restartCount: number; state?: Record<string, unknown> }[];
    conditions?: { type: string; status: string; lastTransitionTime?: string }[];
  };
}
interface Listed<T> {
  items: T[];
}

let cluster: NodeCluster | null = null;
let kubeconfig = "";
let serviceIP = "";
/** The config the operator wrote for the gateway before the examples were applied: a fresh gateway, zero routes. */
let routelessHash = "";
let routelessConfig = "";

/** The running cluster (started by beforeAll). */
function node(): NodeCluster {
  if (cluster === null) throw new Error("the cluster did not start");
  return cluster;
}

async function kube<T>(args: string[]): Promise<T> {
  return JSON.parse(await node().kubectl([...args, "-o", "json"])) as T;
}

async function helmOk(args: string[]): Promise<string> {
  const result = await helm([...args, "--kubeconfig", kubeconfig]);
  if (result.code !== 0) throw new Error(`helm ${args.join(" ")} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

function isReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

async function routerPods(): Promise<Pod[]> {
  const pods = await kube<Listed<Pod>>(["-n", NS, "get", "pods", "-l", ROUTER_SELECTOR]);
  return pods.items.filter((p) => p.metadata.deletionTimestamp === undefined);
}

/** The ConfigMap's config hash (the operator's annotation). */
async function configHash(): Promise<string> {
  const cm = await kube<{ metadata: { annotations?: Record<string, string> } }>([
    "-n",
    NS,
    "get",
    "configmap",
    CONFIGMAP_NAME,
  ]);
  return cm.metadata.annotations?.["routewise.dev/config-hash"] ?? "";
}

/** What one router pod serves: its /readyz answer (pod IPs are reachable from the host through the pod bridge). */
async function readyz(pod: Pod): Promise<{ status: number; config?: string }> {
  const res = await fetch(`http://${pod.status?.podIP ?? ""}:${ROUTER_PORT}/readyz`, {
    signal: AbortSignal.timeout(5_000),
  });
  const body = (await res.json()) as { config?: string };
  return body.config === undefined ? { status: res.status } : { status: res.status, config: body.config };
}

/** What one router pod answers on /readyz, for a message: "503", "200 <hash>" or the connection error. */
async function describeReadyz(pod: Pod): Promise<string> {
  try {
    const r = await readyz(pod);
    return `${r.status}${r.config === undefined ? "" : ` ${r.config}`}`;
  } catch (err) {
    return errorText(err);
  }
}

function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error ? `${err.message} (${err.cause.message})` : err.message;
}

/** One poll of a propagation wait: the value once done (else false), and what was seen, for the timeout message. */
interface Observation<T> {
  done: T | false;
  seen: string;
}

/**
 * Polls `observe` until done; logs how long that took. A timeout says how long it waited, against which bound, and
 * what each router served at the last poll.
 */
async function propagated<T>(what: string, timeoutMs: number, observe: () => Promise<Observation<T>>): Promise<T> {
  const started = Date.now();
  let seen = "nothing observed yet";
  try {
    const value = await waitFor(
      async () => {
        const o = await observe();
        seen = o.seen;
        return o.done;
      },
      timeoutMs,
      { intervalMs: 500, description: what },
    );
    process.stderr.write(`propagation: ${what} after ${Date.now() - started} ms (bound ${timeoutMs} ms)\n`);
    return value;
  } catch (err) {
    throw new Error(
      `${what}: not so after ${Date.now() - started} ms (bound ${timeoutMs} ms); at the last poll: ${seen}` +
        ` (${errorText(err)})`,
      { cause: err },
    );
  }
}

/** Resolves once `count` Ready router pods all serve the ConfigMap's current config. */
async function routersServeCurrentConfig(count = 2, timeoutMs = PROPAGATION_BOUND_MS): Promise<Pod[]> {
  return propagated(`${count} Ready routers serving ConfigMap ${CONFIGMAP_NAME}'s config`, timeoutMs, async () => {
    const hash = await configHash();
    const pods = await routerPods();
    const ready = pods.filter(isReady);
    const served = await Promise.all(ready.map(describeReadyz));
    const seen =
      `ConfigMap hash ${hash || "(none)"}; ${pods.length} router pods, ${ready.length} Ready` +
      ready.map((p, i) => `; ${p.metadata.name} /readyz ${served[i] ?? "?"}`).join("");
    const done = hash !== "" && ready.length >= count && served.every((s) => s === `200 ${hash}`);
    return { done: done ? ready : false, seen };
  });
}

function client(baseURL: string, maxRetries = 0): OpenAI {
  return new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: "unused", maxRetries, timeout: 20_000 });
}

const serviceClient = (maxRetries = 0): OpenAI => client(`http://${serviceIP}`, maxRetries);
const podClient = (pod: Pod): OpenAI => client(`http://${pod.status?.podIP ?? ""}:${ROUTER_PORT}`);

/** The model a router answers `model` with (x-routewise-model), or null when it does not serve that model. */
async function answeredModel(openai: OpenAI, model: string): Promise<string | null> {
  try {
    const { response } = await openai.chat.completions
      .create({ model, messages: [{ role: "user", content: "What is the capital of France?" }] })
      .withResponse();
    return response.headers.get("x-routewise-model");
  } catch (err) {
    if (err instanceof OpenAI.NotFoundError) return null;
    throw err;
  }
}

/** A route of its own for the edits, so the examples stay as they are. */
function probeRoute(candidate: string): string {
  return [
    "apiVersion: routewise.dev/v1alpha1",
    "kind: ModelRoute",
    "metadata: { name: cluster-probe }",
    "spec:",
    "  modelName: cluster-probe",
    `  candidates: [{ name: ${candidate} }]`,
    "  baseline: { name: gpt-4o }",
    "",
  ].join("\n");
}

/** Waits until every Ready router answers `model` with `expected` (polled per pod, not through the Service). */
async function everyRouterAnswers(model: string, expected: string, timeoutMs: number): Promise<void> {
  await propagated(`every router answering ${model} with ${expected}`, timeoutMs, async () => {
    const hash = await configHash();
    const pods = (await routerPods()).filter(isReady);
    const models = await Promise.all(
      pods.map((p) => answeredModel(podClient(p), model).then((m) => m ?? "404", errorText)),
    );
    const served = await Promise.all(pods.map(describeReadyz));
    const seen =
      `ConfigMap hash ${hash || "(none)"}; ${pods.length} Ready routers` +
      pods.map((p, i) => `; ${p.metadata.name} answered ${models[i] ?? "?"}, /readyz ${served[i] ?? "?"}`).join("");
    return { done: pods.length >= 2 && models.every((m) => m === expected), seen };
  });
}

/** The kubelet's copy of a pod's config volume on this node: `..data` is the symlink it swaps atomically. */
function configVolume(pod: Pod): string {
  return join(KUBELET_ROOT, "pods", pod.metadata.uid, "volumes/kubernetes.io~projected/config");
}

async function leaseHolder(): Promise<string> {
  const lease = await kube<{ spec?: { holderIdentity?: string } }>(["-n", NS, "get", "lease", DEFAULT_LEASE_NAME]);
  return lease.spec?.holderIdentity ?? "";
}

/** What the client loop saw: requests sent and answered, requests that failed, retried attempts, skipped ticks. */
interface LoopResult {
  sent: number;
  succeeded: number;
  failures: string[];
  retriedAttempts: string[];
  /** Ticks that sent nothing because LOOP_MAX_IN_FLIGHT requests were still open (a slow machine, not a failure). */
  skippedTicks: number;
}

interface ClientLoop {
  /** Resolves once `n` more requests than so far have succeeded (rejects after `timeoutMs`). */
  succeeded: (n: number, timeoutMs?: number) => Promise<void>;
  stop: () => Promise<LoopResult>;
}

/** The SDK's fetch, recording every attempt it will retry (a 5xx, a connection error). */
function countingFetch(retriedAttempts: string[]): typeof fetch {
  return async (input, init) => {
    try {
      const res = await fetch(input, init);
      if (res.status >= 500) retriedAttempts.push(`HTTP ${res.status}`);
      return res;
    } catch (err) {
      retriedAttempts.push(errorText(err));
      throw err;
    }
  };
}

/**
 * A light client loop through the Service: `LOOP_RATE_PER_S` requests per second, bounded in flight, every outcome
 * counted. The SDK retries as it does by default (2 retries: connection errors, 5xx, the router's 503
 * `shutting_down`), as a real client would; the attempts it retried are reported, a request that still fails is a
 * failure. A tick that finds LOOP_MAX_IN_FLIGHT requests still open sends nothing and is counted as skipped: on a
 * loaded machine answers can be slow without any failing.
 */
function clientLoop(): ClientLoop {
  const r: LoopResult = { sent: 0, succeeded: 0, failures: [], retriedAttempts: [], skippedTicks: 0 };
  const openai = new OpenAI({
    baseURL: `http://${serviceIP}/v1`,
    apiKey: "unused",
    maxRetries: 2,
    timeout: 20_000,
    fetch: countingFetch(r.retriedAttempts),
  });
  const inFlight = new Set<Promise<void>>();
  const timer = setInterval(() => {
    if (inFlight.size >= LOOP_MAX_IN_FLIGHT) {
      r.skippedTicks++;
      return;
    }
    r.sent++;
    const p = answeredModel(openai, "assistant")
      .then((m) => {
        if (m === null) r.failures.push("assistant: 404");
        else r.succeeded++;
      })
      .catch((err: unknown) => {
        r.failures.push(errorText(err));
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }, 1_000 / LOOP_RATE_PER_S);
  return {
    succeeded: async (n, timeoutMs = 120_000) => {
      const target = r.succeeded + n;
      await waitFor(() => r.succeeded >= target, timeoutMs, {
        intervalMs: 100,
        description: `${n} more successful requests through the Service (${r.succeeded} of ${target} so far)`,
      });
    },
    stop: async () => {
      clearInterval(timer);
      await Promise.all(inFlight);
      return r;
    },
  };
}

/** A config of the right version with nothing else in it: not a programmed config (no hash, no routes field). */
const INVALID_CONFIG = JSON.stringify({ version: ROUTER_CONFIG_VERSION });

/** The router's ConfigMap holding `configJson`, and an empty credentials Secret, as the operator would name them. */
function readinessObjects(configJson: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: [
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: CONFIGMAP_NAME }, data: { [CONFIG_KEY]: configJson } },
      { apiVersion: "v1", kind: "Secret", metadata: { name: CREDENTIALS_SECRET_NAME }, type: "Opaque" },
    ],
  });
}

/** The router container's readiness probe period, as the chart rendered it. */
async function readinessPeriodSeconds(ns: string, selector: string): Promise<number> {
  const list = await kube<
    Listed<{ spec: { template: { spec: { containers: { readinessProbe?: { periodSeconds?: number } }[] } } } }>
  >(["-n", ns, "get", "deployments", "-l", selector]);
  const period = list.items[0]?.spec.template.spec.containers[0]?.readinessProbe?.periodSeconds;
  if (period === undefined) throw new Error(`no router readinessProbe.periodSeconds in namespace ${ns}`);
  return period;
}

/** The router container has started at least once (and so has read its mounted config). */
function routerHasRun(pod: Pod): boolean {
  const c = pod.status?.containerStatuses?.[0];
  return c !== undefined && (c.restartCount > 0 || c.state?.["running"] !== undefined);
}

/** What `observeUnready` saw, polled once a second. */
interface UnreadySeen {
  polls: number;
  /** Polls at which a pod was Ready, and at which a pod's /readyz answered 200. */
  ready: number;
  readyz200: number;
  phases: string[];
  /** /readyz answers ("503", a connection error) and how often each came. */
  answers: Record<string, number>;
  restarts: number;
}

/** Polls the pods' Ready condition, phase and /readyz once a second for `ms`. */
async function observeUnready(pods: () => Promise<Pod[]>, ms: number): Promise<UnreadySeen> {
  const seen: UnreadySeen = { polls: 0, ready: 0, readyz200: 0, phases: [], answers: {}, restarts: 0 };
  const phases = new Set<string>();
  for (const end = Date.now() + ms; Date.now() < end;) {
    const current = await pods();
    seen.polls++;
    for (const p of current) {
      phases.add(p.status?.phase ?? "(none)");
      if (isReady(p)) seen.ready++;
      seen.restarts = Math.max(seen.restarts, p.status?.containerStatuses?.[0]?.restartCount ?? 0);
      const answer = (await describeReadyz(p)).replace(/^200 .*/, "200");
      if (answer === "200") seen.readyz200++;
      seen.answers[answer] = (seen.answers[answer] ?? 0) + 1;
    }
    await sleep(1_000);
  }
  seen.phases = [...phases].sort();
  return seen;
}

beforeAll(async () => {
  cluster = await startNodeCluster();
  kubeconfig = cluster.kubeconfig;
  await helmOk([
    "install",
    RELEASE,
    CHART_DIR,
    "-n",
    NS,
    "--create-namespace",
    "--set",
    INSTALL_VALUES.join(","),
    "--wait",
    "--timeout",
    "5m",
  ]);
  await routersServeCurrentConfig(2, 180_000);
  const cm = await kube<ConfigMapContent & { metadata: { annotations?: Record<string, string> } }>([
    "-n",
    NS,
    "get",
    "configmap",
    CONFIGMAP_NAME,
  ]);
  routelessHash = cm.metadata.annotations?.["routewise.dev/config-hash"] ?? "";
  routelessConfig = configFromConfigMap(cm) ?? "";
  await node().kubectl(["-n", NS, "apply", "-f", join(repoRoot, "examples")]);
  const svc = await kube<{ spec: { clusterIP: string } }>(["-n", NS, "get", "service", ROUTER]);
  serviceIP = svc.spec.clusterIP;
}, 900_000);

afterAll(async () => {
  await cluster?.stop();
}, 300_000);

describe("the chart on a real node", () => {
  it("answers a chat completion through the router Service with 200 and the x-routewise-* headers", async () => {
    await waitFor(async () => (await configHash()) !== routelessHash, 60_000, {
      description: `ConfigMap ${CONFIGMAP_NAME} with the example routes`,
    });
    await routersServeCurrentConfig();
    const { data, response } = await serviceClient()
      .chat.completions.create({ model: "assistant", messages: [{ role: "user", content: "Say hello" }] })
      .withResponse();
    expect(response.status).toBe(200);
    expect(data.choices[0]?.message.content).toBeTruthy();
    expect(response.headers.get("x-routewise-route")).toBe("assistant");
    expect(response.headers.get("x-routewise-model")).toBeTruthy();
    expect(response.headers.get("x-routewise-provider")).toMatch(new RegExp(`^${NS}/`));
    expect(response.headers.get("x-routewise-decision")).toBeTruthy();
  });

  it("serves an edited ModelRoute from every router within 1.5 × syncFrequency + 10 s, by the kubelet's symlink swap", async () => {
    await node().kubectl(["-n", NS, "apply", "-f", "-"], probeRoute("gpt-4o-mini"));
    await everyRouterAnswers("cluster-probe", "gpt-4o-mini", PROPAGATION_BOUND_MS);
    const pods = (await routerPods()).filter(isReady);
    const before = pods.map((p) => readlinkSync(join(configVolume(p), "..data")));
    // The mounted file is a link into ..data, never a file rewritten in place.
    for (const p of pods) expect(readlinkSync(join(configVolume(p), CONFIG_KEY))).toBe(`..data/${CONFIG_KEY}`);

    await node().kubectl(["-n", NS, "apply", "-f", "-"], probeRoute("llama-3-8b"));
    await everyRouterAnswers("cluster-probe", "meta-llama/Meta-Llama-3-8B-Instruct", PROPAGATION_BOUND_MS);
    const after = pods.map((p) => readlinkSync(join(configVolume(p), "..data")));
    for (const [i, link] of after.entries()) expect(link).not.toBe(before[i]);
    const hash = await configHash();
    for (const p of pods) {
      const served = JSON.parse(readFileSync(realpathSync(join(configVolume(p), CONFIG_KEY)), "utf8")) as unknown;
      expect(served).toMatchObject({ hash });
    }
  });

  it("moves the Lease to the other operator when the leader's pod is deleted, and the next change still programs", async () => {
    const leader = await waitFor(leaseHolder, 60_000, { description: "a Lease holder" });
    const pod = leader.replace(/-\d+$/, "");
    await node().kubectl(["-n", NS, "delete", "pod", pod, "--wait=false"]);
    const next = await waitFor(
      async () => ((h) => (h !== "" && !h.startsWith(pod) ? h : false))(await leaseHolder()),
      90_000,
      {
        description: `the Lease ${DEFAULT_LEASE_NAME} leaving ${pod}`,
      },
    );
    const operators = await kube<Listed<Pod>>(["-n", NS, "get", "pods", "-l", OPERATOR_SELECTOR]);
    expect(operators.items.map((p) => p.metadata.name)).toContain(next.replace(/-\d+$/, ""));

    await node().kubectl(["-n", NS, "apply", "-f", "-"], probeRoute("gpt-4o"));
    await everyRouterAnswers("cluster-probe", "gpt-4o", PROPAGATION_BOUND_MS + 30_000);
  });

  it("rolls the router replicas on an upgrade that changes the pod template, with no failed request", async () => {
    const before = new Set((await routerPods()).map((p) => p.metadata.name));
    const loop = clientLoop();
    // Traffic flowing to the old pods before the upgrade starts.
    await loop.succeeded(ROLLOUT_SUCCESSES_EACH_SIDE);
    await helmOk([
      "upgrade",
      RELEASE,
      CHART_DIR,
      "-n",
      NS,
      "--reuse-values",
      "--set",
      `router.podAnnotations.rollout=r${randomBytes(3).toString("hex")}`,
      "--wait",
      "--timeout",
      "5m",
    ]);
    await node().kubectl(["-n", NS, "rollout", "status", `deployment/${ROUTER}`, "--timeout=300s"]);
    const pods = await waitFor(
      async () =>
        ((ps) => (ps.length >= 2 && ps.every((p) => !before.has(p.metadata.name)) ? ps : false))(await routerPods()),
      120_000,
      { description: "only new router pods" },
    );
    await routersServeCurrentConfig(pods.length);
    // And to the new ones only, once the old are gone.
    await loop.succeeded(ROLLOUT_SUCCESSES_EACH_SIDE);
    const { sent, succeeded, failures, retriedAttempts, skippedTicks } = await loop.stop();
    process.stderr.write(
      `rollout: ${sent} requests, ${succeeded} succeeded, ${failures.length} failed, ${skippedTicks} ticks skipped ` +
        `(${LOOP_MAX_IN_FLIGHT} in flight), ${retriedAttempts.length} attempts retried by the SDK ` +
        `${JSON.stringify(retriedAttempts)}\n`,
    );
    expect(failures).toEqual([]);
    expect(succeeded).toBe(sent);
    expect(succeeded).toBeGreaterThanOrEqual(2 * ROLLOUT_SUCCESSES_EACH_SIDE);
  });

  it("keeps a router unready while its ConfigMap holds no valid config, and Ready once it holds one", async () => {
    // A release of its own with no operator and no ModelGateway: nothing but this test writes its ConfigMap.
    const ns = "routewise-readiness";
    const release = "readiness";
    const selector = `app.kubernetes.io/instance=${release},app.kubernetes.io/component=router`;
    await node().kubectl(["create", "namespace", ns]);
    await node().kubectl(["-n", ns, "apply", "-f", "-"], readinessObjects(INVALID_CONFIG));
    const values = [
      ...INSTALL_VALUES.filter((v) => !v.startsWith("operator.replicas")),
      "operator.replicas=0",
      "gateway.create=false",
      "router.autoscaling.enabled=false",
      "router.replicas=1",
    ];
    // No --wait: the router is not meant to become Ready yet.
    await helmOk(["install", release, CHART_DIR, "-n", ns, "--set", values.join(",")]);
    const pods = async (): Promise<Pod[]> =>
      (await kube<Listed<Pod>>(["-n", ns, "get", "pods", "-l", selector])).items.filter(
        (p) => p.metadata.deletionTimestamp === undefined,
      );
    const period = await readinessPeriodSeconds(ns, selector);
    // The router has read the invalid config: its container ran (and refused it) at least once.
    await waitFor(async () => (await pods()).some(routerHasRun), 180_000, {
      intervalMs: 1_000,
      description: `the router container of release ${release} started`,
    });
    const seen = await observeUnready(pods, 3 * period * 1_000);
    process.stderr.write(`readiness: invalid config, over ${3 * period} s: ${JSON.stringify(seen)}\n`);
    expect(seen.ready).toBe(0);
    expect(seen.readyz200).toBe(0);
    expect(seen.polls).toBeGreaterThanOrEqual(2 * period);
    expect(seen.phases).toEqual(["Running"]);
    // And it did read the config and refuse it without exiting (the chart's --wait-for-config): no restart, and
    // /readyz answered 503 (a connection error is possible only before the servers listen).
    expect(seen.restarts).toBe(0);
    expect(seen.answers["503"] ?? 0).toBeGreaterThan(0);

    // A fresh gateway's config (the operator's, before any route: zero routes) is a valid program: Ready.
    const written = Date.now();
    await node().kubectl(["-n", ns, "apply", "-f", "-"], readinessObjects(routelessConfig));
    const ready = await waitFor(
      async () => ((ps) => (ps.length === 1 && ps.every(isReady) ? ps : false))(await pods()),
      240_000,
      { intervalMs: 1_000, description: `the router of release ${release} Ready after a valid config was written` },
    );
    process.stderr.write(`readiness: Ready ${Date.now() - written} ms after the valid config was written\n`);
    for (const p of ready) {
      // The same container loaded the fixed config: no restart (and so no kubelet backoff) in between.
      expect(p.status?.containerStatuses?.[0]?.restartCount).toBe(0);
      expect(await readyz(p)).toEqual({ status: 200, config: routelessHash });
      // Ready with zero routes: a request for a model answers 404 model_not_found, not a refused connection.
      expect(await answeredModel(podClient(p), "assistant")).toBeNull();
    }
    await helmOk(["uninstall", release, "-n", ns, "--wait", "--timeout", "5m"]);
    await node().kubectl(["delete", "namespace", ns, "--wait=true", "--timeout=180s"]);
  });

  it("creates a PodDisruptionBudget and a HorizontalPodAutoscaler that targets the router Deployment", async () => {
    const hpa = await kube<{
      spec: { scaleTargetRef: { apiVersion: string; kind: string; name: string }; minReplicas: number };
    }>(["-n", NS, "get", "hpa", ROUTER]);
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: ROUTER });
    const pdb = await kube<{ spec: { selector: { matchLabels: Record<string, string> } } }>([
      "-n",
      NS,
      "get",
      "pdb",
      ROUTER,
    ]);
    const selector = Object.entries(pdb.spec.selector.matchLabels)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    // The router pods, and only those (a pod the rollout left terminating is no longer counted by either).
    const selected = await kube<Listed<Pod>>(["-n", NS, "get", "pods", "-l", selector]);
    const live = selected.items.filter((p) => p.metadata.deletionTimestamp === undefined);
    expect(live.map((p) => p.metadata.name).sort()).toEqual((await routerPods()).map((p) => p.metadata.name).sort());
    const deployment = await kube<{ spec: { replicas: number } }>(["-n", NS, "get", "deployment", ROUTER]);
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(hpa.spec.minReplicas);
  });

  it("removes what the release created on helm uninstall, and what the operator wrote for its gateway", async () => {
    const manifest = parseObjects(await helmOk(["get", "manifest", RELEASE, "-n", NS]));
    const created = manifest.map((o) => `${(o.kind ?? "").toLowerCase()}/${o.metadata?.name ?? ""}`);
    expect(created).toContain(`deployment/${ROUTER}`);
    await helmOk(["uninstall", RELEASE, "-n", NS, "--wait", "--timeout", "5m"]);
    const written = [
      `configmap/${CONFIGMAP_NAME}`,
      "secret/routewise-router-credentials",
      `lease/${DEFAULT_LEASE_NAME}`,
    ];
    await waitFor(
      async () => {
        const left = await node().kubectl([
          "-n",
          NS,
          "get",
          ...created,
          ...written,
          "--ignore-not-found",
          "-o",
          "name",
        ]);
        // Every pod of the release gone, not just terminating.
        const pods = await kube<Listed<Pod>>(["-n", NS, "get", "pods", "-l", `app.kubernetes.io/instance=${RELEASE}`]);
        return left.trim() === "" && pods.items.length === 0;
      },
      180_000,
      { intervalMs: 1_000, description: "the release's objects, the operator's outputs and the pods gone" },
    );
    // Policies applied with kubectl are not the release's: they stay.
    const routes = await kube<Listed<Pod>>(["-n", NS, "get", "modelroutes"]);
    expect(routes.items.map((r) => r.metadata.name)).toContain("assistant");
  });
  it("installs examples.enabled=true on a cluster without the CRDs, and helm uninstall deletes the examples", async () => {
    const ns = "routewise-examples";
    const crds = readdirSync(join(CHART_DIR, "crds")).map(
      (f) => `crd/${f.replace(/^routewise\.dev_(\w+)\.yaml$/, "$1.routewise.dev")}`,
    );
    await node().kubectl(["delete", ...crds, "--wait=true", "--timeout=180s"]);
    const values = [...INSTALL_VALUES.filter((v) => !v.startsWith("operator.replicas")), "examples.enabled=true"];
    const release = "routewise-examples";
    await helmOk([
      "install",
      release,
      CHART_DIR,
      "-n",
      ns,
      "--create-namespace",
      "--set",
      values.join(","),
      "--wait",
      "--timeout",
      "5m",
    ]);
    const routes = async (): Promise<string[]> =>
      (await kube<Listed<Pod>>(["-n", ns, "get", "modelroutes"])).items.map((r) => r.metadata.name).sort();
    expect(await routes()).toEqual(["assistant", "summarizer", "support-bot"]);
    const selector = `app.kubernetes.io/instance=${release},app.kubernetes.io/component=router`;
    await waitFor(
      async () => {
        const pods = (await kube<Listed<Pod>>(["-n", ns, "get", "pods", "-l", selector])).items.filter(isReady);
        const models = await Promise.all(pods.map((p) => answeredModel(podClient(p), "assistant")));
        return pods.length > 0 && models.every((m) => m !== null);
      },
      180_000,
      { intervalMs: 1_000, description: "the example routes served" },
    );
    await helmOk(["uninstall", release, "-n", ns, "--wait", "--timeout", "5m"]);
    expect(await routes()).toEqual([]);
  });
});
