/**
 * Wiring only: assembles a router — metrics, tracing (off unless OTEL_EXPORTER_OTLP_* says where), the request
 * recorder, state, provider health, adapters, classifiers, the HTTP app, the metrics listener and config
 * reloading — and serves it until stop(). Everything external
 * (config loading, logger) is passed in. The request path, in order: http/chat-completions → http/route-request
 * (openai/request, classify, select) → dispatch (retry-policy, providers) → accounting/request-record; once the
 * response has ended, evaluation/evaluator (judge samples, accounting/evaluation-record).
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { AggregatorRegistry, type Registry } from "prom-client";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { createEvaluationRecorder } from "./accounting/evaluation-record.js";
import { createRecorder, type AccessLogger } from "./accounting/request-record.js";
import { classifierCacheHooks, createRouterEvents } from "./accounting/router-events.js";
import { startTracing, tracingFromEnv, type Tracing, type TracingSettings } from "./accounting/trace-export.js";
import { HeuristicClassifier } from "./classify/heuristic-classifier.js";
import type { EngineChoice } from "./classify/analyzer-engine.js";
import { ClassifierRegistry } from "./classify/registry.js";
import { ConfigReloader, type LoadedConfig } from "./config/reloader.js";
import { FEEDBACK_KEY_CREDENTIAL } from "./config/delivery.js";
import { shareLimits } from "./config/limits-share.js";
import type { ProviderType, RouterConfig } from "./config/types.js";
import type { LearningLabel } from "./learn/evidence.js";
import { Evaluator } from "./evaluation/evaluator.js";
import { LearningLedger } from "./accounting/learning-ledger.js";
import { DEFAULT_LOCAL_LEARNING_INTERVAL_MS, LocalLearner } from "./evaluation/local-learning.js";
import { sampled } from "./evaluation/sampling.js";
import { ProviderHealth } from "./dispatch/health.js";
import type { ClientAuth } from "./http/auth.js";
import { answerClientError, createApp } from "./http/app.js";
import { createMetricsEndpoint, type MetricsSource } from "./http/metrics-endpoint.js";
import { Drain } from "./http/drain.js";
import { createRouterMetrics, type RouterMetrics } from "./metrics/metrics.js";
import type { ProviderAdapter } from "./providers/types.js";
import { RouterState } from "./config/snapshot.js";
import { startBudgetGauges } from "./accounting/budget-gauges.js";
import { createStateObserver } from "./accounting/state-events.js";
import { DEFAULT_KEY_PREFIX } from "./state/keys.js";
import { MemoryStateStore } from "./state/memory-store.js";
import { createRedisClient, redactedRedisUrl } from "./state/redis-client.js";
import { DEFAULT_STATE_TIMEOUT_MS, RedisStateStore } from "./state/redis-store.js";
import type { FailurePolicy, StateStore } from "./state/types.js";

// What the CLI's wiring and the test harnesses need to start a router.
export type { AccessLogger } from "./accounting/request-record.js";
export { ClientAuth } from "./http/auth.js";
export { createAdapters } from "./providers/registry.js";
export { createRouterMetrics } from "./metrics/metrics.js";
export { DEFAULT_KEY_PREFIX } from "./state/keys.js";
export { DEFAULT_STATE_TIMEOUT_MS } from "./state/redis-store.js";
export { FAILURE_POLICIES, type FailurePolicy } from "./state/types.js";

/**
 * The state replicas share (issue 17): provider limits and budget spend. Without Redis everything is in memory,
 * per replica.
 */
export interface StateOptions {
  redis: { url: string; password?: string; ca?: string } | null;
  /** open: an unreachable Redis falls back to per-replica state; closed: requests that need it answer 503. */
  failurePolicy: FailurePolicy;
  /** Longest wait for one Redis call (default 200 ms). */
  timeoutMs?: number;
  /** Namespaces the keys per gateway (default routewise:standalone). */
  keyPrefix?: string;
}

export interface RouterOptions {
  host: string;
  /** The OpenAI-compatible API, /healthz and /readyz (0: a free port). */
  port: number;
  /** /metrics and /healthz, on the same host; never on the API port (0: a free port). */
  metricsPort: number;
  logger: Logger;
  /** The access log (one line per request; the CLI's is written in batches). Default: `logger`. */
  accessLogger?: AccessLogger;
  load: () => Promise<LoadedConfig>;
  watchPaths: string[];
  pollIntervalMs?: number;
  adapters: Record<ProviderType, ProviderAdapter>;
  /** The built-in and custom classifiers (default: the heuristic classifier only, for tests). */
  classifiers?: ClassifierRegistry;
  auth?: ClientAuth | null;
  maxBodyBytes?: number;
  /** How long shutdown waits for in-flight requests. */
  drainTimeoutMs?: number;
  metrics?: RouterMetrics;
  /**
   * The feedback-token signing key when the credentials hold no `feedback-signing-key` (standalone:
   * --feedback-key-file). Absent: a random key per process (its tokens verify only on this process).
   */
  feedbackKey?: Uint8Array;
  /** Judge sampling's queue: sampled requests waiting at most, and evaluations running at once. */
  evaluationQueue?: { capacity?: number; concurrency?: number };
  /** The request-log sink (chargeback, `--request-log`): every access-log line as one JSON object. */
  requestLog?: (line: Record<string, unknown>) => void;
  /** Where tracing's OTEL_* settings are read (default: process.env). The OTLP exporter reads process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Standalone mode (no operator): learning routes' tables are computed in-process from this router's own judged
   * labels every `intervalMs` (default 60 s) and served as `route.learned` (ADR 12). Absent: the config's
   * `route.learned` (the operator's) is served as delivered.
   */
  localLearning?: { intervalMs?: number };
  /** Shared state (issue 17). Absent: in memory. */
  state?: StateOptions;
  /**
   * A worker of `routewise router --workers N` (node:cluster): no metrics listener of its own — its registry
   * answers the primary's scrapes, which aggregate the pod — and /readyz also waits for `podReady()` (every
   * worker up). Absent: a single process serving its own /metrics.
   */
  clusterWorker?: { podReady: () => boolean };
  /**
   * Start with no config when the first one is missing or invalid (the operator's mounted ConfigMap, `--wait-for-config`):
   * the servers listen, /readyz answers 503 with the reason, and the first valid config that appears is loaded.
   * Absent: startRouter() rejects with the config's error (standalone fails fast).
   */
  waitForConfig?: boolean;
  /** Enforce 1/N of every provider limit: N workers keeping their limits in memory (router/config/limits-share). */
  limitsShare?: number;
}

export interface RunningRouter {
  url: string;
  port: number;
  /** Base URL of the metrics listener (`${metricsUrl}/metrics`); "" in a cluster worker (the primary serves it). */
  metricsUrl: string;
  metrics: RouterMetrics;
  /** Null unless tracing is on (OTEL_EXPORTER_OTLP_ENDPOINT or …_TRACES_ENDPOINT set). */
  tracing: Pick<Tracing, "flush"> | null;
  state: RouterState;
  /** Where limits and budgets are kept: in memory, or Redis. */
  store: StateStore;
  reloader: ConfigReloader;
  /** Stops accepting, waits for in-flight requests (bounded), closes everything. */
  stop(): Promise<void>;
}

/** Large enough for a few base64 photos (a 12 MP JPEG is ~5 MiB encoded), like common gateways. */
export const DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024;
/** The OpenTelemetry Prometheus exporter's port: clear of the API's 8080 and the operator's 8081. */
export const DEFAULT_METRICS_PORT = 9464;

/** Where requests' access-log lines go: their own logger when given, else the router's. */
function accessLogger(o: RouterOptions): AccessLogger {
  return o.accessLogger ?? o.logger;
}

export async function startRouter(o: RouterOptions): Promise<RunningRouter> {
  const metrics = o.metrics ?? createRouterMetrics();
  const tracingSettings = tracingFromEnv(o.env ?? process.env); // a protocol it cannot speak fails here, first
  const events = createRouterEvents(metrics, o.logger);
  const state = new RouterState();
  const health = new ProviderHealth(Date.now, events.circuitChanged);
  const store = await stateStore(o.state, metrics, o.logger);
  const budgetGauges = startBudgetGauges({ store, metrics, config: () => state.current?.config ?? null });
  const drain = new Drain();
  const classifiers =
    o.classifiers ?? (await ClassifierRegistry.create(events.classifierCache, new HeuristicClassifier()));
  const credential = (key: string | null): string | null =>
    key === null ? null : (state.current?.credentials.get(key) ?? null);
  const learning = learningWiring(o);
  const evaluations = createEvaluationRecorder(metrics, o.logger, learning.recording);
  const evaluator = new Evaluator({
    adapters: o.adapters,
    credential,
    providers: () => state.current?.providers ?? new Map(),
    record: evaluations,
    now: Date.now,
    ...o.evaluationQueue,
  });
  const reloader = new ConfigReloader({
    load: o.load,
    watchPaths: o.watchPaths,
    pollIntervalMs: o.pollIntervalMs ?? 5_000,
    prepare: (config) => classifiers.prepare(config),
    onApplied: (loaded, credentials, unavailable) => {
      const config = shareLimits(loaded, o.limitsShare ?? 1);
      state.set(learning.served(config), credentials, unavailable);
      health.setProviders(config.providers);
      events.configApplied(config, unavailable);
      evaluator.configure(config.routes);
      void budgetGauges.refresh();
    },
    onRejected: events.configRejected,
    waitForValidConfig: o.waitForConfig ?? false,
  });
  await reloader.start();
  learning.start(state);
  const feedbackKey = feedbackKeys(state, o);
  const tracing = tracingFor(tracingSettings, o.logger);

  const app = createApp({
    snapshot: () => state.current,
    classifier: (route) => classifiers.for(route),
    health,
    random: Math.random,
    state: store,
    now: Date.now,
    dispatch: {
      adapters: o.adapters,
      credential,
      health,
      state: store,
      now: Date.now,
      sleep: (ms, signal) => sleep(ms, undefined, { signal }),
      random: Math.random,
    },
    record: createRecorder({
      metrics,
      logger: accessLogger(o),
      tokens: {
        recordTokens: (id, tokens) => {
          health.recordTokens(id, tokens);
          const limits = state.current?.providers.get(id)?.limits;
          if (limits) store.recordTokens(id, limits, tokens);
        },
      },
      spend: store,
      now: Date.now,
      learning: {
        ledger: learning.recording.ledger,
        sampled: (route, requestId) => sampled(requestId, route.evaluation?.sampleRate ?? 0),
      },
      ...(o.requestLog ? { sink: o.requestLog } : {}),
      ...(tracing ? { tracer: tracing.tracer } : {}),
    }),
    feedback: {
      key: feedbackKey,
      now: Date.now,
      record: (route, model, score, requestId) => {
        evaluations.feedback(route, model, score, requestId);
      },
    },
    evaluate: (c) => {
      evaluator.consider(c);
    },
    logger: o.logger,
    auth: o.auth ?? null,
    hrNow: () => performance.now(),
    maxBodyBytes: o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    ready: () => !drain.draining && (o.clusterWorker?.podReady() ?? true),
    notReadyReason: () => (drain.draining ? "draining" : reloader.waiting),
    drain,
  });
  const server = createServer({ keepAliveTimeout: 65_000 }, app);
  server.on("clientError", answerClientError);
  await listen(server, o.port, o.host).catch(async (err: unknown) => {
    reloader.stop();
    budgetGauges.stop();
    await store.close();
    throw err;
  });
  const port = (server.address() as AddressInfo).port;
  const metricsListener = await metricsListenerFor(o, metrics).catch(async (err: unknown) => {
    reloader.stop();
    server.close();
    budgetGauges.stop();
    await store.close();
    await tracing?.shutdown();
    throw err;
  });

  const stop = async (): Promise<void> => {
    drain.start();
    reloader.stop();
    learning.stop();
    const closed = new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
    const deadline = Date.now() + (o.drainTimeoutMs ?? 25_000);
    for (;;) {
      server.closeIdleConnections(); // kept-alive sockets whose last response just ended
      if (drain.inflight === 0 || Date.now() >= deadline) break;
      await sleep(50);
    }
    server.closeAllConnections();
    await closed;
    evaluator.stop();
    await metricsListener.close(); // scrapes keep working while the API drains; the metrics listener closes last

    await Promise.all(Object.values(o.adapters).map((a) => a.close()));
    budgetGauges.stop();
    await store.close(); // after the last request: its charge is sent
    await tracing?.shutdown(); // exports the spans still batched
  };
  const metricsUrl = metricsListener.url;
  return { url: baseUrl(o.host, port), port, metricsUrl, metrics, tracing, state, store, reloader, stop };
}

interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

/** This process's /metrics listener, or in a cluster worker none: its registry answers the primary's scrapes. */
async function metricsListenerFor(o: RouterOptions, metrics: RouterMetrics): Promise<MetricsListener> {
  if (o.clusterWorker) {
    answerPrimaryScrapes(metrics.registry);
    return { url: "", close: () => Promise.resolve() };
  }
  return serveMetrics(metrics.registry, { host: o.host, port: o.metricsPort, logger: o.logger });
}

/** A worker: prom-client's cluster listener sends this registry to the primary's AggregatorRegistry. */
function answerPrimaryScrapes(registry: Registry): void {
  new AggregatorRegistry(); // installs the worker's message listener (once per process)
  AggregatorRegistry.setRegistries([registry]);
}

async function serveMetrics(
  registry: MetricsSource,
  o: { host: string; port: number; logger: Logger },
): Promise<MetricsListener> {
  const server = createServer(createMetricsEndpoint({ registry, logger: o.logger }));
  await listen(server, o.port, o.host);
  return {
    url: baseUrl(o.host, (server.address() as AddressInfo).port),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

/**
 * The primary of `--workers N`: /metrics aggregates every worker's registry in one scrape (counters and
 * histograms summed, gauges by their `aggregator`, router/metrics), /healthz answers for the primary itself.
 */
export function startPodMetrics(o: { host: string; port: number; logger: Logger }): Promise<MetricsListener> {
  const aggregator = new AggregatorRegistry();
  const source: MetricsSource = { metrics: () => aggregator.clusterMetrics(), contentType: aggregator.contentType };
  return serveMetrics(source, o);
}

/**
 * The state store: Redis when configured (its first PING waits for the connection, bounded; an unreachable Redis
 * is logged and probed, it does not stop the router), else in memory.
 */
async function stateStore(o: StateOptions | undefined, metrics: RouterMetrics, logger: Logger): Promise<StateStore> {
  if (!o?.redis) return new MemoryStateStore();
  const timeoutMs = o.timeoutMs ?? DEFAULT_STATE_TIMEOUT_MS;
  const client = createRedisClient({ ...o.redis, timeoutMs });
  const store = new RedisStateStore({
    client,
    prefix: o.keyPrefix ?? DEFAULT_KEY_PREFIX,
    failurePolicy: o.failurePolicy,
    observer: createStateObserver(metrics, logger, o.failurePolicy),
    timeoutMs,
  });
  const reachable = await store.start();
  const where = { url: redactedRedisUrl(o.redis.url), keyPrefix: o.keyPrefix ?? DEFAULT_KEY_PREFIX };
  logger.info(
    { ...where, failurePolicy: o.failurePolicy, reachable },
    "Using Redis for provider limits and budgets across replicas",
  );
  return store;
}

/**
 * Learning routes (ADR 12): the ledger between the request record and the evaluation record, and in standalone
 * mode the in-process learner — the config served is the loaded one with its latest tables, and every interval
 * the tables are recomputed and a changed one served (a snapshot swap, like a reload).
 */
function learningWiring(o: RouterOptions) {
  const ledger = new LearningLedger();
  const learner = o.localLearning ? new LocalLearner(o.logger) : null;
  let timer: NodeJS.Timeout | null = null;
  const onLabel = (route: string, label: LearningLabel): void => learner?.observe(route, label);
  return {
    recording: { ledger, ...(learner ? { onLabel } : {}) },
    served: (config: RouterConfig): RouterConfig => {
      if (!learner) return config;
      learner.configure(config);
      return learner.overlay(config);
    },
    start: (state: RouterState): void => {
      if (!learner) return;
      timer = setInterval(() => {
        const current = state.current;
        const next = current ? learner.relearn(current.config) : null;
        if (current && next) state.set(next, current.credentials, current.unavailable);
      }, o.localLearning?.intervalMs ?? DEFAULT_LOCAL_LEARNING_INTERVAL_MS);
      timer.unref();
    },
    stop: (): void => {
      if (timer) clearInterval(timer);
    },
  };
}

/** Tracing when the environment names an OTLP endpoint (ADR 13), else null: no span is ever created. */
function tracingFor(settings: TracingSettings | null, logger: Logger): Tracing | null {
  if (settings === null) return null;
  logger.info(settings, "Started tracing");
  return startTracing(settings, logger);
}

/**
 * The feedback signing key in force: the credentials' `feedback-signing-key` (the operator's, shared by every
 * replica of a gateway; read anew with each config), else the configured key, else one random key per process.
 */
function feedbackKeys(state: RouterState, o: RouterOptions): () => Uint8Array {
  const fallback = o.feedbackKey ?? randomBytes(32);
  const fromCredentials = (): string | undefined => state.current?.credentials.get(FEEDBACK_KEY_CREDENTIAL);
  // Waiting for a first config (--wait-for-config): its credentials are not read yet, so nothing to say yet.
  if (o.feedbackKey === undefined && state.current !== null && fromCredentials() === undefined)
    o.logger.info(
      { credential: FEEDBACK_KEY_CREDENTIAL },
      "Generated a per-process feedback signing key: feedback tokens verify only on this process",
    );
  // The same bytes for the same credential while it stays: the token signer keeps one KeyObject per key object.
  let last: { text: string; key: Uint8Array } | null = null;
  return () => {
    const text = fromCredentials();
    if (text === undefined || text === "") return fallback;
    if (last?.text !== text) last = { text, key: Buffer.from(text, "utf8") };
    return last.key;
  };
}

function baseUrl(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * The built-in ONNX analyzer (and room for the config's custom models), counting decision-cache hits; logs which
 * engine runs it (the synchronous JS evaluator, or ONNX Runtime and why, ADR 15).
 */
export async function loadBuiltinClassifiers(metrics: RouterMetrics, logger?: Logger): Promise<ClassifierRegistry> {
  const onEngine = (e: EngineChoice): void => {
    if (e.kind === "js") logger?.info({ engine: e.kind, reason: e.reason }, "Loaded the analyzer on the JS evaluator");
    else logger?.warn({ engine: e.kind, reason: e.reason }, "Kept ONNX Runtime for the analyzer");
  };
  try {
    return await ClassifierRegistry.create({ ...classifierCacheHooks(metrics), onEngine });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`could not load the built-in classifier: ${message}`, { cause: err });
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
