/**
 * A real Prometheus (Debian's `prometheus` binary) on loopback, with a temporary config and TSDB, for tests:
 * scrapes the given targets every second and evaluates the given rule files every second.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { stringify } from "yaml";
import { freePorts } from "../harness/ports.js";
import { findTool } from "./tools.js";

export interface ScrapeTarget {
  job: string;
  /** host:port */
  address: string;
  labels?: Record<string, string>;
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PromAlert {
  labels: Record<string, string>;
  state: "pending" | "firing" | "inactive";
}

export interface RunningPrometheus {
  url: string;
  /** Instant query at now; throws on a PromQL or HTTP error. */
  query(expr: string): Promise<PromSample[]>;
  alerts(): Promise<PromAlert[]>;
  /** Rule health as Prometheus reports it: name -> health ("ok", "err", "unknown"). */
  ruleHealth(): Promise<Map<string, string>>;
  /** Polls `check` every 250 ms until it returns true or `timeoutMs` passes (then throws with `what`). */
  waitFor(what: string, check: () => Promise<boolean>, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startPrometheus(o: { targets: ScrapeTarget[]; ruleFiles: string[] }): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), "routewise-prometheus-"));
  const [port] = await freePorts(1);
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(join(dir, "prometheus.yml"), stringify(prometheusConfig(o.targets, o.ruleFiles)));
  const child = spawn(
    findTool("prometheus"),
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      "--storage.tsdb.retention.time=1h",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let log = "";
  child.stderr.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-8_000)));
  const stop = async (): Promise<void> => {
    await terminate(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const api = apiClient(url);
  try {
    await api.waitFor("Prometheus to be ready", async () => (await fetch(`${url}/-/ready`)).ok, 20_000);
  } catch (err) {
    await stop();
    throw new Error(`Prometheus did not start: ${log}`, { cause: err });
  }
  return { url, ...api, stop };
}

function prometheusConfig(targets: ScrapeTarget[], ruleFiles: string[]) {
  return {
    global: { scrape_interval: "1s", scrape_timeout: "1s", evaluation_interval: "1s" },
    rule_files: ruleFiles,
    // One scrape config per job (Prometheus rejects duplicate job names); targets of a job share it.
    scrape_configs: [...new Set(targets.map((t) => t.job))].map((job) => ({
      job_name: job,
      static_configs: targets
        .filter((t) => t.job === job)
        .map((t) => ({ targets: [t.address], labels: t.labels ?? {} })),
    })),
  };
}

function apiClient(url: string) {
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== "success") throw new Error(`Prometheus ${path}: ${body.error ?? res.status}`);
    return body.data;
  };
  const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let last: unknown = null;
    while (Date.now() < deadline) {
      try {
        if (await check()) return;
      } catch (err) {
        last = err;
      }
      await sleep(250);
    }
    throw new Error(`timed out waiting for ${what}`, { cause: last });
  };
  return {
    query: async (expr: string): Promise<PromSample[]> => {
      const data = await get<{ resultType: string; result: PromSample[] }>(
        `/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      return data.result;
    },
    alerts: async (): Promise<PromAlert[]> => (await get<{ alerts: PromAlert[] }>("/api/v1/alerts")).alerts,
    ruleHealth: async (): Promise<Map<string, string>> => {
      const data = await get<{ groups: { rules: { name: string; health: string }[] }[] }>("/api/v1/rules");
      return new Map(data.groups.flatMap((g) => g.rules.map((r) => [r.name, r.health] as const)));
    },
    waitFor,
  };
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}
