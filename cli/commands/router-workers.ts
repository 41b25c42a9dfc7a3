/**
 * `routewise router --workers N` (issue 18): a node:cluster primary forks N workers that share the API port
 * (the primary hands out connections round-robin); the primary serves the pod's /metrics (every worker's registry
 * aggregated in one scrape), replaces a crashed worker after a bounded backoff, tells the workers when the pod is
 * ready (every worker listening) and on SIGTERM lets every worker drain before it exits. N = 1 runs no cluster.
 */
import cluster, { type Worker } from "node:cluster";
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import type { Logger } from "pino";
import { startPodMetrics } from "../../router/main.js";
import { CliError } from "../errors.js";

/** Set by the primary in each worker's environment: how many workers share the pod. */
export const WORKER_COUNT_ENV = "ROUTEWISE_WORKER_COUNT";
/**
 * Set by the primary when no --feedback-key-file is given: one random feedback signing key for every worker of the
 * pod (a token minted by one worker verifies on the others). Read and removed from the environment at start.
 */
const POD_FEEDBACK_KEY_ENV = "ROUTEWISE_POD_FEEDBACK_KEY";
const POD_READY = "routewise:pod-ready";
const LISTENING = "routewise:listening";
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** A worker that ran this long resets the crash backoff. */
const STABLE_MS = 60_000;

type ReadFile = (path: string) => string | null;

const readOrNull: ReadFile = (path) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
};

/** The container's CPU limit in whole CPUs (rounded up): cgroup v2 cpu.max, else v1's CFS quota; null: none. */
export function cgroupCpuLimit(read: ReadFile = readOrNull): number | null {
  const v2 = read("/sys/fs/cgroup/cpu.max")?.trim().split(/\s+/);
  if (v2 && v2.length === 2) return cpus(Number(v2[0]), Number(v2[1]));
  const quota = Number(read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")?.trim());
  const period = Number(read("/sys/fs/cgroup/cpu/cpu.cfs_period_us")?.trim());
  return cpus(quota, period);
}

function cpus(quota: number, period: number): number | null {
  // "max" (v2) is NaN here, -1 (v1) means unlimited.
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return null;
  return Math.max(1, Math.ceil(quota / period));
}

/** `auto`: the CPU limit (never more than the CPUs there are), else the available parallelism. */
export function resolveWorkers(
  value: string,
  detect: { limit: () => number | null; parallelism: () => number } = {
    limit: () => cgroupCpuLimit(),
    parallelism: availableParallelism,
  },
): number {
  if (value === "auto") {
    const limit = detect.limit();
    return limit === null ? detect.parallelism() : Math.min(limit, detect.parallelism());
  }
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--workers must be auto or a whole number ≥ 1 (got ${value})`);
  return n;
}

/** In a worker: whether the whole pod is ready (the primary says so), and telling the primary it listens. */
export function clusterWorker(): { podReady: () => boolean; listening: (info: Record<string, unknown>) => void } {
  let ready = false;
  process.on("message", (message: unknown) => {
    if (isMessage(message, POD_READY)) ready = message["ready"] === true;
  });
  return {
    podReady: () => ready,
    listening: (info) => process.send?.({ type: LISTENING, ...info }),
  };
}

function isMessage(message: unknown, type: string): message is Record<string, unknown> {
  return typeof message === "object" && message !== null && (message as { type?: unknown }).type === type;
}

/** In a worker: the pod's feedback signing key from the primary (removed from the environment), if it sent one. */
export function podFeedbackKey(): Uint8Array | undefined {
  const hex = process.env[POD_FEEDBACK_KEY_ENV];
  Reflect.deleteProperty(process.env, POD_FEEDBACK_KEY_ENV);
  return hex === undefined || hex === "" ? undefined : Buffer.from(hex, "hex");
}

export interface PrimaryOptions {
  workers: number;
  host: string;
  metricsPort: number;
  /** The workers' drain timeout: the primary waits that long (plus a margin) before it kills a worker. */
  drainTimeoutMs: number;
  logger: Logger;
  /** --feedback-key-file given: the workers read it; else the primary gives them one random key. */
  feedbackKeyFile: boolean;
}

/** Runs the primary until SIGTERM/SIGINT has drained every worker (then exits the process). */
export async function runPrimary(o: PrimaryOptions): Promise<void> {
  const metrics = await startPodMetrics({ host: o.host, port: o.metricsPort, logger: o.logger }).catch(
    (err: unknown) => {
      throw new CliError(err instanceof Error ? err.message : String(err), { cause: err });
    },
  );
  const pod = new Pod(o, metrics.url);
  pod.start();
  const onSignal = (signal: string): void => {
    pod.stop(signal).then(
      async (clean) => {
        await metrics.close();
        o.logger.info({ clean }, "Stopped router");
        process.exit(clean ? 0 : 1);
      },
      (err: unknown) => {
        o.logger.error({ err }, "Failed to stop cleanly");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => {
    onSignal("SIGTERM");
  });
  process.once("SIGINT", () => {
    onSignal("SIGINT");
  });
}

/** The primary's view of its workers: who listens, who crashed, when to replace them. */
class Pod {
  private readonly listening = new Set<number>();
  private readonly startedAt = new Map<number, number>();
  private everListened = false;
  private announced = false;
  private stopping = false;
  private crashes = 0;
  private readonly env: Record<string, string>;

  constructor(
    private readonly o: PrimaryOptions,
    private readonly metricsUrl: string,
  ) {
    this.env = {
      [WORKER_COUNT_ENV]: String(o.workers),
      ...(o.feedbackKeyFile ? {} : { [POD_FEEDBACK_KEY_ENV]: randomBytes(32).toString("hex") }),
    };
  }

  start(): void {
    cluster.on("message", (worker, message: unknown) => {
      if (isMessage(message, LISTENING)) this.onListening(worker, message);
    });
    cluster.on("exit", (worker, code, signal) => {
      this.onExit(worker, code, signal);
    });
    for (let i = 0; i < this.o.workers; i++) this.fork();
  }

  private fork(): void {
    const worker = cluster.fork(this.env);
    this.startedAt.set(worker.id, Date.now());
  }

  private onListening(worker: Worker, info: Record<string, unknown>): void {
    this.listening.add(worker.id);
    this.everListened = true;
    this.o.logger.info({ worker: worker.id, pid: worker.process.pid }, "Started router worker");
    if (!this.announced && this.listening.size >= this.o.workers) {
      this.announced = true;
      const { url, routes } = info;
      const names = Array.isArray(routes) ? routes.join(", ") : "";
      this.o.logger.info(
        { url, metricsUrl: this.metricsUrl, routes, workers: this.o.workers },
        `Routewise router listening on ${String(url)} with ${this.o.workers} workers (routes: ${names})`,
      );
    }
    this.broadcastReady();
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    this.listening.delete(worker.id);
    const ranMs = Date.now() - (this.startedAt.get(worker.id) ?? Date.now());
    this.startedAt.delete(worker.id);
    if (this.stopping) return;
    this.broadcastReady();
    if (!this.everListened) {
      // No worker ever started (a bad config, a port in use): fail like a single process would.
      this.o.logger.error({ worker: worker.id, code, signal }, "Router worker failed to start");
      process.exit(1);
    }
    this.crashes = ranMs >= STABLE_MS ? 0 : this.crashes + 1;
    const delayMs = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, this.crashes - 1));
    this.o.logger.warn(
      { worker: worker.id, pid: worker.process.pid, code, signal, restartInMs: delayMs },
      "Router worker exited; replacing it",
    );
    setTimeout(() => {
      if (!this.stopping) this.fork();
    }, delayMs);
  }

  /** Every worker listening: the pod is ready (each worker's /readyz says so too). */
  private broadcastReady(): void {
    const ready = !this.stopping && this.listening.size >= this.o.workers;
    for (const worker of Object.values(cluster.workers ?? {}))
      if (worker?.isConnected()) worker.send({ type: POD_READY, ready });
  }

  /** SIGTERM to every worker (each drains its in-flight requests), killed after the drain timeout and a margin. */
  async stop(signal: string): Promise<boolean> {
    this.stopping = true;
    this.o.logger.info({ signal, workers: this.listening.size }, "Draining every worker before exit");
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const exits = workers.map(
      (w) =>
        new Promise<boolean>((resolve) => {
          if (w.isDead()) resolve(true);
          w.once("exit", (code: number | null) => {
            resolve(code === 0);
          });
        }),
    );
    const killer = setTimeout(() => {
      for (const w of workers) if (!w.isDead()) w.process.kill("SIGKILL");
    }, this.o.drainTimeoutMs + 10_000);
    for (const w of workers) w.process.kill("SIGTERM");
    const clean = await Promise.all(exits);
    clearTimeout(killer);
    return clean.every(Boolean);
  }
}
