/** `routewise operator`: wiring of kube config, logger and signals around operator/main.ts. */
import type { Command } from "commander";
import { existsSync, readFileSync } from "node:fs";
import type { KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import { DEFAULT_CONTROLLER_NAME, DEFAULT_LEASE_NAME } from "../../operator/defaults.js";
import { CliError } from "../errors.js";
import { parseDuration } from "../../operator/compile/duration.js";

interface OperatorFlags {
  kubeconfig?: string;
  namespace?: string;
  watchNamespaces?: string;
  metricsAddress: string;
  leaderElect: boolean;
  controllerName: string;
  leaseName: string;
  prometheusUrl?: string;
  qualityInterval: string;
  qualityHold: string;
  learningInterval: string;
}

const SA_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

export function registerOperatorCommand(program: Command): void {
  program
    .command("operator")
    .description(
      "Reconcile ModelGateways, ModelProviders, ModelRoutes and ModelClientKeys into each gateway's router ConfigMap and credentials Secret",
    )
    .option("--kubeconfig <path>", "kubeconfig file (default: in-cluster config, else $KUBECONFIG / ~/.kube/config)")
    .option(
      "-n, --namespace <ns>",
      "namespace for the router ConfigMap, Secret and leader Lease (default: the pod's namespace)",
    )
    .option("--watch-namespaces <list>", "comma-separated namespaces to watch (default: all)")
    .option("--metrics-address <host:port>", "where /metrics, /healthz and /readyz listen", "0.0.0.0:8081")
    .option("--no-leader-elect", "run without a leader Lease (single replica only)")
    .option(
      "--controller-name <name>",
      "program only the ModelGateways whose spec.controllerName is this",
      DEFAULT_CONTROLLER_NAME,
    )
    .option("--lease-name <name>", "the leader Lease (one per install in a namespace)", DEFAULT_LEASE_NAME)
    .option(
      "--prometheus-url <url>",
      "Prometheus whose Routewise recording rules give each route's measured quality and savings (status.quality, status.savings, QualityMet, auto shadow) and whose routewise_spend_usd_total gives budget spend (status.budget); default: none",
    )
    .option("--quality-interval <duration>", "how often measured quality is read from Prometheus", "60s")
    .option(
      "--learning-interval <duration>",
      "how often learning routes' evidence is read from Prometheus, so how often their learned tables (and the router config) can change",
      "5m",
    )
    .option(
      "--quality-hold <duration>",
      "after an auto shadow reset, how long before a route may be shadowed again (one measurement window)",
      "1h",
    )
    .action(async (flags: OperatorFlags) => {
      const logger = pino({ base: { component: "operator" }, level: process.env["LOG_LEVEL"] ?? "info" });
      // Loaded here, not at the top: every other subcommand (the router above all) would pay ~70 MB for them.
      const [{ KubeConfig }, { runOperator }] = await Promise.all([
        import("@kubernetes/client-node"),
        import("../../operator/main.js"),
      ]);
      const kubeConfig = loadKubeConfig(new KubeConfig(), flags.kubeconfig);
      const namespace = flags.namespace ?? podNamespace();
      const [metricsHost, metricsPort] = splitHostPort(flags.metricsAddress);
      const quality = qualityOptions(flags);
      const learningIntervalMs = durationFlag("--learning-interval", flags.learningInterval);
      const running = await runOperator({
        kubeConfig,
        namespace,
        watchNamespaces: (flags.watchNamespaces ?? "").split(",").filter((s) => s !== ""),
        logger,
        metricsHost,
        metricsPort: Number(metricsPort),
        leaderElection: flags.leaderElect,
        controllerName: flags.controllerName,
        leaseName: flags.leaseName,
        ...quality,
        learningIntervalMs,
      });
      logger.info({ namespace, metrics: running.metricsUrl }, "Routewise operator started");
      let stopping = false;
      running.synced.catch((err: unknown) => {
        if (stopping) {
          logger.info({ reason: err instanceof Error ? err.message : String(err) }, "Stopped before reconciling");
          return;
        }
        // runOperator has stopped everything (the Lease is released): exit so the pod restarts.
        logger.error({ err }, "Operator failed to start reconciling; exiting");
        process.exit(1);
      });
      const onSignal = (signal: string): void => {
        stopping = true;
        logger.info({ signal }, "Stopping operator (releasing the leader Lease)");
        running.stop().then(
          () => process.exit(process.exitCode ?? 0),
          (err: unknown) => {
            logger.error({ err }, "Failed to stop cleanly");
            process.exit(1);
          },
        );
      };
      process.once("SIGTERM", () => onSignal("SIGTERM"));
      process.once("SIGINT", () => onSignal("SIGINT"));
    });
}

function loadKubeConfig(kc: KubeConfig, path: string | undefined): KubeConfig {
  try {
    if (path !== undefined) kc.loadFromFile(path);
    else kc.loadFromDefault();
  } catch (err) {
    throw new CliError(
      `cannot load kubeconfig${path ? ` ${path}` : ""}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  if (!kc.getCurrentCluster())
    throw new CliError("no Kubernetes cluster configured: pass --kubeconfig or run in a pod");
  return kc;
}

/** --prometheus-url, --quality-interval and --quality-hold, checked. */
export function qualityOptions(flags: Pick<OperatorFlags, "prometheusUrl" | "qualityInterval" | "qualityHold">): {
  prometheusUrl?: string;
  qualityIntervalMs: number;
  qualityHoldMs: number;
} {
  const qualityIntervalMs = durationFlag("--quality-interval", flags.qualityInterval);
  const qualityHoldMs = durationFlag("--quality-hold", flags.qualityHold);
  if (qualityIntervalMs < 1_000) throw new CliError("--quality-interval must be at least 1s");
  if (flags.prometheusUrl === undefined) return { qualityIntervalMs, qualityHoldMs };
  let url: URL;
  try {
    url = new URL(flags.prometheusUrl);
  } catch {
    throw new CliError("--prometheus-url must be an http(s) URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new CliError("--prometheus-url must be an http(s) URL");
  return { prometheusUrl: flags.prometheusUrl, qualityIntervalMs, qualityHoldMs };
}

function durationFlag(name: string, value: string): number {
  const ms = parseDuration(value);
  if (ms === null) throw new CliError(`${name} must be a duration such as 60s, 5m or 1h, got ${JSON.stringify(value)}`);
  return ms;
}

function podNamespace(): string {
  if (existsSync(SA_NAMESPACE_FILE)) return readFileSync(SA_NAMESPACE_FILE, "utf8").trim();
  throw new CliError("--namespace is required outside a pod");
}

function splitHostPort(address: string): [string, string] {
  const i = address.lastIndexOf(":");
  if (i < 0) throw new CliError(`--metrics-address must be host:port, got ${address}`);
  return [address.slice(0, i), address.slice(i + 1)];
}
