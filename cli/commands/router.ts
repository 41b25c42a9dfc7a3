/**
 * `routewise router`: runs the routing proxy on a RouterConfig JSON (a mounted ConfigMap) or on a directory of
 * CR YAML (standalone mode). Wiring only: config sources, credentials, logger, signals.
 */
import { createWriteStream } from "node:fs";
import type { Command } from "commander";
import { existsSync, readFileSync, statSync } from "node:fs";
import { extname } from "node:path";
import { pino, type Logger } from "pino";
import { parse as parseYaml } from "yaml";
import { mountedConfigFile, readCredentialsDir, readMountedConfig } from "../../router/config/delivery.js";
import type { LoadedConfig } from "../../router/config/reloader.js";
import {
  ClientAuth,
  createAdapters,
  createRouterMetrics,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_METRICS_PORT,
  loadBuiltinClassifiers,
  startRouter,
} from "../../router/main.js";
import { CliError } from "../errors.js";
import { compileManifests, formatSourceError } from "../standalone.js";

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
}

export function registerRouterCommand(program: Command): void {
  program
    .command("router")
    .description("Run the OpenAI-compatible routing proxy")
    .requiredOption(
      "-c, --config <path>",
      "RouterConfig JSON file, a mounted ConfigMap directory (config.json), or CR YAML files/directory (standalone)",
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
    .action(async (flags: RouterFlags) => {
      const logger = pino({ base: { component: "router" }, level: process.env["LOG_LEVEL"] ?? "info" });
      const source = configSource(flags);
      const metrics = createRouterMetrics();
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
        load: source.load,
        watchPaths: source.watchPaths,
        pollIntervalMs: Number(flags.pollInterval),
        adapters: createAdapters(),
        auth: flags.apiKeys ? loadApiKeys(flags.apiKeys) : null,
        maxBodyBytes: Number(flags.maxBodyBytes),
        drainTimeoutMs: Number(flags.drainTimeout),
        ...(flags.feedbackKeyFile === undefined ? {} : { feedbackKey: loadFeedbackKey(flags.feedbackKeyFile) }),
        ...(flags.requestLog === undefined ? {} : { requestLog: requestLogSink(flags.requestLog) }),
      }).catch((err: unknown) => {
        throw new CliError(err instanceof Error ? err.message : String(err), { cause: err });
      });
      const routes = [...(router.state.current?.routes.keys() ?? [])];
      logger.info(
        { url: router.url, metricsUrl: router.metricsUrl, routes, config: flags.config },
        `Routewise router listening on ${router.url} (routes: ${routes.join(", ")})`,
      );
      handleSignals(logger, () => router.stop());
    });
}

/** JSON lines, appended to a file or written to stdout (`-`). */
function requestLogSink(target: string): (line: Record<string, unknown>) => void {
  const out = target === "-" ? process.stdout : createWriteStream(target, { flags: "a" });
  return (line) => {
    out.write(`${JSON.stringify(line)}\n`);
  };
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
}

/** JSON config (file or ConfigMap dir with config.json), else standalone CR YAML. */
export function configSource(flags: Pick<RouterFlags, "config" | "credentials" | "namespace">): ConfigSource {
  const path = flags.config;
  if (!existsSync(path)) throw new CliError(`${path}: no such file or directory`);
  const mounted = statSync(path).isDirectory() ? mountedConfigFile(path) !== null : extname(path) === ".json";
  const watchPaths = [path, ...(flags.credentials ? [flags.credentials] : [])];
  if (mounted) {
    return {
      watchPaths,
      load: () => Promise.resolve(readMountedConfig({ config: path, credentials: flags.credentials })),
    };
  }
  return {
    watchPaths,
    load: () => {
      const result = compileManifests([path], flags.namespace);
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
