/**
 * `routewise router`: runs the routing proxy on a RouterConfig JSON (a mounted ConfigMap) or on a directory of
 * CR YAML (standalone mode). Wiring only: config sources, credentials, logger, signals.
 */
import cluster from "node:cluster";
import { closeSync, openSync } from "node:fs";
import type { Command } from "commander";
import { existsSync, readFileSync, statSync } from "node:fs";
import { extname } from "node:path";
import { setFlagsFromString } from "node:v8";
import { pino, type Logger } from "pino";
import { parse as parseYaml } from "yaml";
import { mountedConfigFile, readCredentialsDir, readMountedConfig } from "../../router/config/delivery.js";
import type { LoadedConfig } from "../../router/config/reloader.js";
import type { AccessLogger } from "../../router/main.js";
import {
  ClientAuth,
  createAdapters,
  createRouterMetrics,
  DEFAULT_KEY_PREFIX,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_METRICS_PORT,
  DEFAULT_STATE_TIMEOUT_MS,
  FAILURE_POLICIES,
  loadBuiltinClassifiers,
  startRouter,
  type FailurePolicy,
  type StateOptions,
} from "../../router/main.js";
import { CliError } from "../errors.js";
import { jsonAccessLog } from "../access-log.js";
import { FdSink } from "../fd-sink.js";
import { EXIT_FLUSH_MS, LogLines, MAX_UNWRITTEN_BYTES, PIPE_BUF } from "../log-lines.js";
import { compileManifests, formatSourceError, newSalt } from "../standalone.js";
import { clusterWorker, podFeedbackKey, resolveWorkers, runPrimary, WORKER_COUNT_ENV } from "./router-workers.js";

interface RouterFlags {
  config: string;
  credentials?: string;
  apiKeys?: string;
  host: string;
  port?: string;
  metricsPort: string;
  namespace: string;
  maxBodyBytes: string;
  pollInterval: string;
  drainTimeout: string;
  feedbackKeyFile?: string;
  requestLog?: string;
  learningInterval: string;
  redisUrl?: string;
  redisPasswordFile?: string;
  redisCaFile?: string;
  stateFailurePolicy: string;
  stateTimeout: string;
  stateKeyPrefix: string;
  workers: string;
  heapGrowingPercent: string;
  waitForConfig?: boolean;
}

/**
 * How far V8 lets the heap grow past what survived the last full collection before the next one (percent). V8's
 * own factor rises to 4x under a high allocation rate: a router with ~30 MB live held ~230 MB resident after a
 * minute at saturation, nearly all of it garbage awaiting collection. 50 kept it under 150 MB at a CPU cost within
 * the benchmark's noise (ADR 5). Only the growth between collections changes: the heap still grows as far as live
 * data needs.
 */
export const DEFAULT_HEAP_GROWING_PERCENT = 50;

/** Sets V8's heap growing factor for this process (0: V8's own); V8 reads it at every full collection. */
export function applyHeapGrowingPercent(value: string): void {
  const percent = /^\d{1,4}$/.test(value) ? Number(value) : NaN;
  if (!(percent <= 1000))
    throw new CliError(`--heap-growing-percent must be an integer from 0 to 1000 (got ${JSON.stringify(value)})`);
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}

export function registerRouterCommand(program: Command): void {
  program
    .command("router")
    .description("Run the OpenAI-compatible routing proxy")
    .requiredOption(
      "-c, --config <path>",
      "RouterConfig JSON file, a mounted ConfigMap directory (config.json), or CR YAML files/directory (standalone)",
    )
    .option(
      "--wait-for-config",
      "the config is the operator's (RouterConfig JSON, a mounted ConfigMap): when it is missing or invalid, serve unready (/readyz 503) and load it once valid, instead of exiting",
    )
    .option("--credentials <dir>", "directory with one file per credential key (the operator's Secret, mounted)")
    .option(
      "--api-keys <file>",
      "client API keys (YAML/JSON: keys: [{name, key | sha256, routes}]); when set, clients must authenticate",
    )
    .option("--host <host>", "address to listen on", "0.0.0.0")
    .option("-p, --port <port>", "port to listen on (default: $PORT or 8080)")
    .option(
      "--metrics-port <port>",
      "port of /metrics and /healthz (never served on --port)",
      String(DEFAULT_METRICS_PORT),
    )
    .option("-n, --namespace <ns>", "namespace for CRs without one (standalone)", "default")
    .option("--max-body-bytes <n>", "largest accepted request body", String(DEFAULT_MAX_BODY_BYTES))
    .option("--poll-interval <ms>", "how often to re-read the config besides file events", "5000")
    .option("--drain-timeout <ms>", "how long SIGTERM waits for in-flight requests", "25000")
    .option(
      "--feedback-key-file <file>",
      "HMAC key signing feedback tokens when the credentials hold no feedback-signing-key (give every replica the same file); default: a random key per process",
    )
    .option(
      "--request-log <file>",
      "also write every access-log line as JSON lines to this file (appended), or - for stdout (chargeback)",
    )
    .option(
      "--learning-interval <ms>",
      "standalone mode (CR YAML): how often learning routes' tables are recomputed from this router's own judged samples",
      "60000",
    )
    .option(
      "--redis-url <url>",
      "Redis shared by every replica for provider limits and budgets (redis://host:6379/0, rediss:// for TLS); default: in memory, per replica",
    )
    .option("--redis-password-file <file>", "file holding the Redis password (a mounted Secret)")
    .option("--redis-ca-file <file>", "PEM CA bundle the Redis server's TLS certificate must chain to (rediss://)")
    .option(
      "--state-failure-policy <policy>",
      "when Redis is unreachable: open (per-replica limits and budgets, keep serving) or closed (503 state_unavailable)",
      "open",
    )
    .option("--state-timeout <ms>", "longest wait for one Redis call", String(DEFAULT_STATE_TIMEOUT_MS))
    .option(
      "--state-key-prefix <prefix>",
      "namespace of the Redis keys: one per gateway sharing a Redis",
      DEFAULT_KEY_PREFIX,
    )
    .option(
      "--workers <n>",
      "processes serving the API port (node:cluster), or auto: the container's CPU limit (cgroup), else the available CPUs; 1 runs no cluster",
      "auto",
    )
    .option(
      "--heap-growing-percent <n>",
      "how far the heap may grow past the live data between full collections, in percent (0: V8's own, up to 4x under load)",
      String(DEFAULT_HEAP_GROWING_PERCENT),
    )
    .action(async (flags: RouterFlags) => {
      applyHeapGrowingPercent(flags.heapGrowingPercent);
      const workers = cluster.isWorker ? Number(process.env[WORKER_COUNT_ENV]) : resolveWorkers(flags.workers);
      const loggers = routerLoggers(workers);
      const { logger } = loggers;
      if (workers > 1 && cluster.isPrimary) {
        // Each worker appends to --request-log itself; a path it cannot open fails here, before any is forked.
        if (flags.requestLog !== undefined && flags.requestLog !== "-") closeSync(openForAppend(flags.requestLog));
        await runPrimary({
          workers,
          host: flags.host,
          metricsPort: Number(flags.metricsPort),
          drainTimeoutMs: Number(flags.drainTimeout),
          logger,
          feedbackKeyFile: flags.feedbackKeyFile !== undefined,
        });
        return;
      }
      await runRouter(flags, loggers, workers);
    });
}

interface RouterLoggers {
  logger: Logger;
  /** The access log: one line per request, written to stdout in batches (cli/log-lines.ts, cli/access-log.ts). */
  accessLogger: AccessLogger;
  /** stdout, through which both loggers write (and `--request-log -`). */
  stdout: LogLines;
}

/** The longest an access-log line waits on its way to stdout. */
const ACCESS_LOG_DELAY_MS = 100;

/**
 * pino JSON on stdout; a cluster worker's lines (the access log too) carry its pid and worker id. Both loggers write
 * through one LogLines, which keeps their lines in order.
 */
function routerLoggers(workers: number): RouterLoggers {
  const base = cluster.isWorker
    ? { component: "router", pid: process.pid, worker: cluster.worker?.id }
    : { component: "router", ...(workers > 1 ? { role: "primary" } : {}) };
  const level = process.env["LOG_LEVEL"] ?? "info";
  const stdout = linesTo(1);
  const logger = pino({ base, level }, stdout.immediate);
  return {
    logger,
    accessLogger: jsonAccessLog({ base, enabled: logger.isLevelEnabled("info"), out: stdout.batched }),
    stdout,
  };
}

/**
 * Lines to an open fd (cli/fd-sink.ts): every write at most PIPE_BUF (whole lines: a pod's cluster workers share
 * stdout's pipe, and append to one --request-log file), at most MAX_UNWRITTEN_BYTES waiting (beyond it lines are
 * dropped and counted), what is pending written synchronously at exit — for at most EXIT_FLUSH_MS when the fd is
 * full and nobody reads it.
 */
function linesTo(fd: number): LogLines {
  const sink = new FdSink({
    fd,
    maxWrite: PIPE_BUF,
    maxQueuedBytes: MAX_UNWRITTEN_BYTES,
    exitFlushMs: EXIT_FLUSH_MS,
    onDrop: (chunk) => {
      lines.drop(chunk);
    },
  });
  const lines = new LogLines(sink, { maxBytes: PIPE_BUF, maxDelayMs: ACCESS_LOG_DELAY_MS });
  process.on("exit", () => {
    lines.flushSync();
  });
  return lines;
}

/** One router process: the only one (--workers 1) or a cluster worker. */
async function runRouter(flags: RouterFlags, loggers: RouterLoggers, workers: number): Promise<void> {
  const { logger, accessLogger } = loggers;
  const worker = cluster.isWorker ? clusterWorker() : null;
  const state = stateOptions(flags);
  const source = configSource(flags);
  const metrics = createRouterMetrics();
  const countDrops = (destination: "stdout" | "request_log") => (lines: number) =>
    metrics.logLinesDropped.inc({ destination }, lines);
  loggers.stdout.onDropped(countDrops("stdout"));
  const classifiers = await loadBuiltinClassifiers(metrics, logger).catch((err: unknown) => {
    throw new CliError(err instanceof Error ? err.message : String(err), { cause: err });
  });
  const router = await startRouter({
    metrics,
    classifiers,
    host: flags.host,
    port: Number(flags.port ?? process.env["PORT"] ?? 8080),
    metricsPort: Number(flags.metricsPort),
    logger,
    accessLogger,
    load: source.load,
    watchPaths: source.watchPaths,
    pollIntervalMs: Number(flags.pollInterval),
    adapters: createAdapters(),
    auth: flags.apiKeys ? loadApiKeys(flags.apiKeys) : null,
    maxBodyBytes: Number(flags.maxBodyBytes),
    drainTimeoutMs: Number(flags.drainTimeout),
    waitForConfig: flags.waitForConfig === true,
    ...optionalFiles(flags, loggers.stdout, countDrops("request_log")),
    // Standalone: no operator learns for this router, so it learns from its own samples (ADR 12).
    ...(source.standalone ? { localLearning: { intervalMs: positiveMs(flags.learningInterval) } } : {}),
    state,
    ...workerOptions(worker, state, workers),
  }).catch((err: unknown) => {
    throw new CliError(err instanceof Error ? err.message : String(err), { cause: err });
  });
  const routes = [...(router.state.current?.routes.keys() ?? [])];
  if (worker) worker.listening({ url: router.url, routes });
  else
    logger.info(
      { url: router.url, metricsUrl: router.metricsUrl, routes, config: flags.config },
      router.state.current
        ? `Routewise router listening on ${router.url} (routes: ${routes.join(", ")})`
        : `Routewise router listening on ${router.url}, not ready until ${flags.config} holds a valid config`,
    );
  handleSignals(logger, () => router.stop());
}

/** A cluster worker; in-memory provider limits would multiply by the workers, so each enforces its share. */
function workerOptions(worker: ReturnType<typeof clusterWorker> | null, state: StateOptions, workers: number) {
  if (!worker) return {};
  return { clusterWorker: worker, ...(state.redis === null ? { limitsShare: workers } : {}) };
}

function optionalFiles(flags: RouterFlags, stdout: LogLines, onDropped: (lines: number) => void) {
  const feedbackKey = flags.feedbackKeyFile === undefined ? podFeedbackKey() : loadFeedbackKey(flags.feedbackKeyFile);
  return {
    ...(feedbackKey === undefined ? {} : { feedbackKey }),
    ...(flags.requestLog === undefined ? {} : { requestLog: requestLogSink(flags.requestLog, stdout, onDropped) }),
  };
}

/**
 * JSON lines, appended to a file or written to stdout (`-`), in batches like the access log's: in order with the
 * log's lines on stdout, never split, and what is pending written before the process exits (a drain included).
 * `onDropped` counts a file's dropped lines (stdout's are counted with the log's).
 */
export function requestLogSink(
  target: string,
  stdout: LogLines,
  onDropped: (lines: number) => void = () => {},
): (line: Record<string, unknown>) => void {
  const lines = target === "-" ? stdout : linesTo(openForAppend(target));
  if (lines !== stdout) lines.onDropped(onDropped);
  return (line) => {
    lines.batched.write(`${JSON.stringify(line)}\n`);
  };
}

function openForAppend(path: string): number {
  try {
    return openSync(path, "a");
  } catch (err) {
    throw new CliError(`--request-log: cannot open ${path} for appending: ${(err as Error).message}`);
  }
}

function handleSignals(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "Draining in-flight requests before exit");
    stop().then(
      () => {
        logger.info("Stopped router");
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, "Failed to stop cleanly");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => {
    onSignal("SIGTERM");
  });
  process.on("SIGINT", () => {
    onSignal("SIGINT");
  });
}

interface ConfigSource {
  load: () => Promise<LoadedConfig>;
  watchPaths: string[];
  /** CR YAML compiled locally (no operator): the router learns in-process. */
  standalone: boolean;
}

function positiveMs(value: string): number {
  const ms = Number(value);
  if (!Number.isFinite(ms) || ms <= 0)
    throw new CliError(`--learning-interval: ${value} is not a positive number of ms`);
  return ms;
}

/**
 * JSON config (file or ConfigMap dir with config.json), else standalone CR YAML. --wait-for-config: always the
 * operator's JSON, even while the path is missing or holds no config.json yet (the reloader waits for it).
 */
export function configSource(
  flags: Pick<RouterFlags, "config" | "credentials" | "namespace" | "waitForConfig">,
): ConfigSource {
  const path = flags.config;
  const wait = flags.waitForConfig === true;
  if (!wait && !existsSync(path)) throw new CliError(`${path}: no such file or directory`);
  const mounted = wait || (statSync(path).isDirectory() ? mountedConfigFile(path) !== null : extname(path) === ".json");
  const watchPaths = [path, ...(flags.credentials ? [flags.credentials] : [])];
  if (mounted) {
    return {
      watchPaths,
      standalone: false,
      // A read error rejects (the executor's throw), like every other load failure.
      load: () =>
        new Promise((resolve) => resolve(readMountedConfig({ config: path, credentials: flags.credentials }))),
    };
  }
  // One client-key salt per process: a reload recompiles the keys' hashes with it, so they change only with the keys.
  const salt = newSalt();
  return {
    watchPaths,
    standalone: true,
    load: () => {
      const result = compileManifests([path], flags.namespace, { salt });
      if (result.errors.length > 0)
        throw new Error(`invalid policies:\n${result.errors.map(formatSourceError).join("\n")}`);
      // A policy set that serves nothing is a file deleted or cut short mid-rewrite, not an intent: refused like
      // a truncated JSON config, so the last good one keeps serving (issue 15 #4).
      if (result.config.routes.length === 0)
        throw new Error(`${path}: no ModelRoute to serve (a policy file deleted, emptied or cut short?)`);
      const credentials = new Map(Object.entries(result.credentials));
      for (const [k, v] of readCredentialsDir(flags.credentials)) credentials.set(k, v);
      return Promise.resolve({ config: result.config, credentials });
    },
  };
}

/** The shared state flags: Redis (its password and CA from files) and the failure policy, or in memory. */
export function stateOptions(
  flags: Pick<
    RouterFlags,
    "redisUrl" | "redisPasswordFile" | "redisCaFile" | "stateFailurePolicy" | "stateTimeout" | "stateKeyPrefix"
  >,
): StateOptions {
  const common = stateCommon(flags);
  if (flags.redisUrl === undefined || flags.redisUrl === "") {
    if (flags.redisPasswordFile !== undefined || flags.redisCaFile !== undefined)
      throw new CliError("--redis-password-file and --redis-ca-file need --redis-url");
    return { ...common, redis: null };
  }
  const password =
    flags.redisPasswordFile === undefined ? undefined : readSecretFile(flags.redisPasswordFile, "Redis password");
  const ca = flags.redisCaFile === undefined ? undefined : readSecretFile(flags.redisCaFile, "Redis CA bundle");
  return {
    ...common,
    redis: {
      url: flags.redisUrl,
      ...(password === undefined ? {} : { password }),
      ...(ca === undefined ? {} : { ca }),
    },
  };
}

function stateCommon(flags: Pick<RouterFlags, "stateFailurePolicy" | "stateTimeout" | "stateKeyPrefix">) {
  const policy = flags.stateFailurePolicy;
  if (!(FAILURE_POLICIES as readonly string[]).includes(policy))
    throw new CliError(`--state-failure-policy must be open or closed (got ${JSON.stringify(policy)})`);
  const timeoutMs = Number(flags.stateTimeout);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new CliError("--state-timeout must be a positive number of ms");
  return { failurePolicy: policy as FailurePolicy, timeoutMs, keyPrefix: flags.stateKeyPrefix };
}

/** A mounted file's content, trimmed; an empty or unreadable one is refused (never with its content). */
function readSecretFile(file: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch (err) {
    throw new CliError(`${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (text === "") throw new CliError(`${file}: the ${what} file is empty`);
  return text;
}

/** The feedback signing key file's content (trimmed, like a mounted credential); empty is refused. */
function loadFeedbackKey(file: string): Uint8Array {
  let key: string;
  try {
    key = readFileSync(file, "utf8").trim();
  } catch (err) {
    throw new CliError(`${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (key === "") throw new CliError(`${file}: the feedback signing key file is empty`);
  return Buffer.from(key, "utf8");
}

function loadApiKeys(file: string): ClientAuth {
  try {
    return ClientAuth.fromDocument(parseYaml(readFileSync(file, "utf8")));
  } catch (err) {
    throw new CliError(`${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
