/**
 * Wiring of the operator process: kube config, informers, the work queue, leader election, metrics/health HTTP.
 */
import { createServer, type Server } from "node:http";
import { hostname } from "node:os";
import type { AddressInfo } from "node:net";
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  makeInformer,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Namespace,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import { API_GROUP, API_VERSION } from "./api/v1alpha1/crd-schema.js";
import { PLURALS, OperatorKube, ownerReference } from "./controllers/kube.js";
import { withKeepAlive } from "./controllers/keep-alive.js";
import { LeaderElector } from "./controllers/leader.js";
import { WorkQueue } from "./controllers/queue.js";
import { restartOnError, type WatchedInformer } from "./controllers/watch.js";
import { Reconciler } from "./controllers/reconciler.js";
import { PrometheusClient, type FetchLike } from "./quality/prometheus.js";
import { QualityReader } from "./quality/reader.js";
import type { QualityTarget } from "./quality/reading.js";
import { SpendReader } from "./quality/spend-reader.js";
import type { SpendTarget } from "./quality/spend.js";
import type { CachedNamespace, CachedObject, CachedSecretMetadata } from "./controllers/world.js";
import { makeMetadataInformer } from "./controllers/metadata-informer.js";
import { DEFAULT_CONTROLLER_NAME, DEFAULT_LEASE_NAME } from "./defaults.js";
import { createOperatorMetrics, type OperatorMetrics } from "./metrics.js";

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  /** The install namespace: the leader Lease, and the default gateway of routes that name no parent. */
  namespace: string;
  /** The controllerName of the ModelGateways this operator programs (default routewise.dev/operator). */
  controllerName?: string;
  /** The leader Lease's name (default routewise-operator); two installs in one namespace need two. */
  leaseName?: string;
  /** Namespaces to watch; empty = all. */
  watchNamespaces: string[];
  logger: Logger;
  metricsPort: number;
  metricsHost: string;
  leaderElection: boolean;
  identity?: string;
  /** Periodic full reconcile, to repair drift (e.g. a deleted ConfigMap). */
  resyncMs?: number;
  /**
   * Prometheus to read measured quality (ADR 10) and budget spend (issue 17) from; absent: QualityMet
   * Unknown/NoMetricsSource, status.budget without spend.
   */
  prometheusUrl?: string;
  /** How often quality is read (default 60 s). */
  qualityIntervalMs?: number;
  /** How often learning routes' evidence is read, so how often their tables can change (default 5 min; ADR 12). */
  learningIntervalMs?: number;
  /** No auto shadow for this long after a reset (default one window, 1 h). */
  qualityHoldMs?: number;
  /** fetch for Prometheus queries (default: the global fetch, undici). */
  fetch?: FetchLike;
}

export const DEFAULT_QUALITY_INTERVAL_MS = 60_000;

export interface RunningOperator {
  metrics: OperatorMetrics;
  metricsUrl: string;
  /** Resolves when the first reconcile after becoming leader has finished. */
  synced: Promise<void>;
  queue: () => WorkQueue | null;
  stop(): Promise<void>;
}

const KEY = "router-config";
export { DEFAULT_CONTROLLER_NAME, DEFAULT_LEASE_NAME };

type Informer<T extends KubernetesObject> = ReturnType<typeof makeInformer<T>>;
type Watched = WatchedInformer<Informer<KubernetesObject>>;

export async function runOperator(o: OperatorOptions): Promise<RunningOperator> {
  const metrics = createOperatorMetrics();
  const kube = new OperatorKube(withKeepAlive(o.kubeConfig));
  let ready = false;
  const informers: Watched[] = [];
  let stopping: Promise<void> | null = null;
  const isStopping = (): boolean => stopping !== null;
  let queue: WorkQueue | null = null;
  let resync: NodeJS.Timeout | null = null;
  let reader: QualityReader | null = null;
  let reconcilerOf: Reconciler | null = null;
  let spending: SpendReader | null = null;
  const elector = o.leaderElection
    ? new LeaderElector(o.kubeConfig, {
        namespace: o.namespace,
        name: o.leaseName ?? DEFAULT_LEASE_NAME,
        identity: o.identity ?? `${hostname()}-${process.pid}`,
        leaseDurationMs: 15_000,
        retryPeriodMs: 2_000,
        now: () => new Date(),
        onError: (err) => o.logger.warn({ err }, "Failed to acquire or renew the leader Lease"),
        owners: () => (reconcilerOf?.gatewayOwners() ?? []).map((g) => ownerReference(g, false)),
      })
    : null;
  // Ready: the leader once it has synced and reconciled, or a standby waiting for the Lease (see standingBy).
  const server = await serveHttp(o, metrics, () => ready || (elector?.standingBy ?? false));

  const start = async (): Promise<void> => {
    const providers = customInformer(o, "ModelProvider");
    const routes = customInformer(o, "ModelRoute");
    const gateways = customInformer(o, "ModelGateway");
    const grants = customInformer(o, "ModelReferenceGrant");
    const clientKeys = customInformer(o, "ModelClientKey");
    const secrets = secretInformer(o);
    const namespaces = namespaceInformer(o);
    informers.push(...providers, ...routes, ...gateways, ...grants, ...clientKeys, ...secrets, ...namespaces);
    const list = <T>(ws: Watched[]): T[] => ws.flatMap((w) => w.informer.list() as T[]);
    let enqueue = (): void => undefined;
    const quality = qualityReader(
      o,
      metrics,
      () => reconciler.qualityTargets(),
      () => enqueue(),
    );
    reader = quality;
    const spend = spendReader(
      o,
      () => reconciler.spendTargets(),
      () => enqueue(),
    );
    spending = spend;
    const reconciler = new Reconciler({
      quality,
      ...(spend ? { spend } : {}),
      ...(o.qualityHoldMs === undefined ? {} : { qualityHoldMs: o.qualityHoldMs }),
      kube,
      namespace: o.namespace,
      controllerName: o.controllerName ?? DEFAULT_CONTROLLER_NAME,
      logger: o.logger,
      metrics,
      now: () => new Date(),
      caches: {
        providers: () => list<CachedObject>(providers),
        routes: () => list<CachedObject>(routes),
        gateways: () => list<CachedObject>(gateways),
        grants: () => list<CachedObject>(grants),
        clientKeys: () => list<CachedObject>(clientKeys),
        secrets: () => list<CachedSecretMetadata>(secrets),
        namespaces: () => list<CachedNamespace>(namespaces),
      },
    });
    reconcilerOf = reconciler;
    const q = new WorkQueue(
      async () => {
        await reconciler.reconcile();
        metrics.reconciles.inc({ result: "success" });
      },
      { baseDelayMs: 250, maxDelayMs: 60_000, onDepth: (d) => metrics.queueDepth.set(d) },
      (key, err, attempt) => {
        metrics.reconciles.inc({ result: "error" });
        o.logger.error({ key, attempt, err }, "Failed to reconcile; retrying with backoff");
      },
    );
    queue = q;
    enqueue = () => q.add(KEY);
    // Events during the initial lists are ignored: reconciling a half-filled cache would publish a partial config.
    let synced = false;
    for (const w of informers) {
      // A Secret's event matters only when something references it (or it is a gateway's output).
      const matters = secrets.includes(w)
        ? (obj: KubernetesObject) => reconciler.watchesSecret(obj.metadata?.namespace ?? "", obj.metadata?.name ?? "")
        : () => true;
      for (const verb of ["add", "update", "delete"] as const) {
        w.informer.on(verb, (obj: KubernetesObject) => {
          if (synced && matters(obj)) q.add(KEY);
        });
      }
      restartOnError(w, { logger: o.logger, delayMs: 1_000, stopped: isStopping });
    }
    await Promise.all(informers.map((w) => w.informer.start()));
    synced = true;
    q.add(KEY);
    await q.idle();
    ready = true;
    resync = setInterval(() => q.add(KEY), o.resyncMs ?? 300_000);
    resync.unref();
    quality.start();
    spend?.start();
    o.logger.info(
      { namespace: o.namespace, watch: o.watchNamespaces.length > 0 ? o.watchNamespaces : "all" },
      "Operator reconciling",
    );
  };

  /** Stops everything, each step even when an earlier one failed; rejects naming every step that failed. */
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (resync) clearInterval(resync);
      reader?.stop();
      spending?.stop();
      queue?.stop();
      const failures = await Promise.all(
        informers.map((w) => failureOf(`stopping the watch of ${w.path}`, withTimeout(w.informer.stop(), 5_000))),
      );
      // In this order: the Lease only once nothing watches any more, the metrics server last.
      failures.push(await failureOf("releasing the leader Lease", elector?.release()));
      failures.push(await failureOf("closing the metrics server", closeServer(server)));
      throwIfAny(failures.filter((f) => f !== null));
    })());

  const synced = (async () => {
    try {
      if (elector) {
        await elector.run(() => {
          o.logger.error("Lost the leader Lease; exiting so another replica takes over");
          metrics.leader.set(0);
          process.exitCode = 1;
          stop().catch((err: unknown) =>
            o.logger.error({ err }, "Failed to stop cleanly after losing the leader Lease"),
          );
        });
        metrics.leader.set(1);
        o.logger.info("Became leader");
      }
      await start();
    } catch (err) {
      if (isStopping()) throw err; // stop() cut the election or the start short
      // Never stay up as a replica that holds the Lease but does not reconcile: stop, and let the caller exit.
      await stop().catch((stopErr: unknown) => o.logger.error({ err: stopErr }, "Failed to stop cleanly"));
      throw new Error(`Failed to start reconciling: ${errorMessage(err)}`, { cause: err });
    }
  })();

  const address = server.address() as AddressInfo;
  return { metrics, metricsUrl: `http://${o.metricsHost}:${address.port}`, synced, queue: () => queue, stop };
}

/** The quality reader: reads Prometheus every interval when a URL is given, else reports NoMetricsSource. */
function qualityReader(
  o: OperatorOptions,
  metrics: OperatorMetrics,
  targets: () => QualityTarget[],
  onRead: () => void,
): QualityReader {
  const intervalMs = o.qualityIntervalMs ?? DEFAULT_QUALITY_INTERVAL_MS;
  const client = o.prometheusUrl
    ? new PrometheusClient({
        url: o.prometheusUrl,
        fetch: o.fetch ?? fetch,
        timeoutMs: Math.min(Math.max(intervalMs, 1_000), 10_000),
      })
    : null;
  const count = (result: "success" | "error"): void => {
    metrics.qualityReads.inc({ result });
  };
  return new QualityReader({
    client,
    intervalMs,
    targets,
    onRead,
    logger: o.logger,
    count,
    ...(o.learningIntervalMs === undefined ? {} : { learningIntervalMs: o.learningIntervalMs }),
  });
}

/** The spend reader (issue 17): only with a Prometheus URL, on the quality reader's interval. */
function spendReader(o: OperatorOptions, targets: () => SpendTarget[], onRead: () => void): SpendReader | null {
  if (!o.prometheusUrl) return null;
  const intervalMs = o.qualityIntervalMs ?? DEFAULT_QUALITY_INTERVAL_MS;
  const client = new PrometheusClient({
    url: o.prometheusUrl,
    fetch: o.fetch ?? fetch,
    timeoutMs: Math.min(Math.max(intervalMs, 1_000), 10_000),
  });
  return new SpendReader({ client, intervalMs, targets, onRead, logger: o.logger, now: () => new Date() });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([p, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms).unref())]);
}

/** Null when `p` settles fine, else an error saying which step failed (with the original as its cause). */
async function failureOf(step: string, p: Promise<unknown> | undefined): Promise<Error | null> {
  try {
    await p;
    return null;
  } catch (err) {
    return new Error(`${step}: ${errorMessage(err)}`, { cause: err });
  }
}

function throwIfAny(failures: Error[]): void {
  if (failures.length === 0) return;
  throw new AggregateError(
    failures,
    `Failed to stop the operator cleanly: ${failures.map((f) => f.message).join("; ")}`,
  );
}

function closeServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve, reject) => {
    server.close((err) => {
      if (err) reject(err);
      else resolve();
    });
  });
  server.closeAllConnections();
  return closed;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function customInformer(o: OperatorOptions, kind: keyof typeof PLURALS): Watched[] {
  const api = o.kubeConfig.makeApiClient(CustomObjectsApi);
  const plural = PLURALS[kind];
  const base = { group: API_GROUP, version: API_VERSION, plural };
  if (o.watchNamespaces.length === 0) {
    const path = `/apis/${API_GROUP}/${API_VERSION}/${plural}`;
    const list = () => api.listClusterCustomObject(base) as Promise<KubernetesListObject<KubernetesObject>>;
    return [{ path, informer: makeInformer(o.kubeConfig, path, list) }];
  }
  return o.watchNamespaces.map((namespace) => {
    const path = `/apis/${API_GROUP}/${API_VERSION}/namespaces/${namespace}/${plural}`;
    const list = () =>
      api.listNamespacedCustomObject({ ...base, namespace }) as Promise<KubernetesListObject<KubernetesObject>>;
    return { path, informer: makeInformer(o.kubeConfig, path, list) };
  });
}

/**
 * Namespace labels, for gateways that admit routes by namespace selector (read only, cluster-wide). A namespaced
 * install (--watch-namespaces) has no cluster-wide access, so there selectors see no labels.
 */
function namespaceInformer(o: OperatorOptions): Watched[] {
  if (o.watchNamespaces.length > 0) return [];
  const api = o.kubeConfig.makeApiClient(CoreV1Api);
  const path = "/api/v1/namespaces";
  return [{ path, informer: makeInformer<V1Namespace>(o.kubeConfig, path, () => api.listNamespace()) }];
}

/**
 * Secrets as metadata only (names and resourceVersions): the values of the referenced ones are read by name
 * (controllers/secret-values.ts), so no other Secret's content enters the operator (ADR 9).
 */
function secretInformer(o: OperatorOptions): Watched[] {
  const paths =
    o.watchNamespaces.length === 0
      ? ["/api/v1/secrets"]
      : o.watchNamespaces.map((namespace) => `/api/v1/namespaces/${namespace}/secrets`);
  return paths.map((path) => ({ path, informer: makeMetadataInformer(o.kubeConfig, path) }));
}

function serveHttp(o: OperatorOptions, metrics: OperatorMetrics, ready: () => boolean): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === "/metrics") {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    } else if (req.url === "/healthz")
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}');
    else if (req.url === "/readyz") {
      const ok = ready();
      res
        .writeHead(ok ? 200 : 503, { "content-type": "application/json" })
        .end(JSON.stringify({ status: ok ? "ready" : "not ready" }));
    } else res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.metricsPort, o.metricsHost, () => resolve(server));
  });
}
