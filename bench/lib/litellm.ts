/**
 * LiteLLM's proxy as a peer target of the proxy benchmark (issue 18): installed from PyPI into a cached venv at a
 * pinned version, started on the bench's mock upstream with its production settings, logging minimised, no
 * database, a master key, and its bundled model price map (LITELLM_LOCAL_MODEL_COST_MAP, so it makes no outbound
 * request at start). An install that fails returns the reason; the bench then skips LiteLLM.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";

/** Pinned: the newest release whose `[proxy]` extra resolves from PyPI here (1.108+ need unpublished extras). */
export const LITELLM_VERSION = "1.106.12";

const OK_MARKER = ".routewise-ok";

export function litellmVenv(): string {
  return join(homedir(), ".cache", "routewise-bench", `litellm-${LITELLM_VERSION}`);
}

/** The venv's `litellm` executable, installing it first if needed; or why it could not be installed. */
export function ensureLiteLLM(log: (line: string) => void): { bin: string } | { error: string } {
  const venv = litellmVenv();
  const bin = join(venv, "bin", "litellm");
  if (existsSync(join(venv, OK_MARKER)) && existsSync(bin)) return { bin };
  rmSync(venv, { recursive: true, force: true });
  mkdirSync(join(venv, ".."), { recursive: true });
  log(`Installing litellm[proxy]==${LITELLM_VERSION} into ${venv} (once)`);
  const steps: [string, string[]][] = [
    ["python3", ["-m", "venv", venv]],
    [join(venv, "bin", "pip"), ["install", "-q", "--disable-pip-version-check", `litellm[proxy]==${LITELLM_VERSION}`]],
  ];
  for (const [cmd, args] of steps) {
    const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 900_000 });
    if (r.error || r.status !== 0) {
      const why = r.error?.message ?? (r.stderr || r.stdout).trim().split("\n").slice(-3).join(" | ");
      return { error: `${cmd} ${args.join(" ")} failed: ${why}` };
    }
  }
  writeFileSync(join(venv, OK_MARKER), `${LITELLM_VERSION}\n`);
  return { bin };
}

export interface RunningLiteLLM {
  child: ChildProcess;
  port: number;
  masterKey: string;
}

function configYaml(upstreamPort: number): string {
  return `model_list:
  - model_name: bench
    litellm_params:
      model: openai/mock-model
      api_base: http://127.0.0.1:${upstreamPort}/v1
      api_key: sk-mock-upstream
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  disable_spend_logs: true
  disable_error_logs: true
litellm_settings:
  set_verbose: false
  json_logs: true
  turn_off_message_logging: true
  request_timeout: 600
`;
}

/** LiteLLM on a free `port` with `workers` worker processes; resolves once /health/readiness answers 200. */
export async function startLiteLLM(opts: {
  bin: string;
  upstreamPort: number;
  port: number;
  workers: number;
}): Promise<RunningLiteLLM> {
  const dir = mkdtempSync(join(tmpdir(), "routewise-bench-litellm-"));
  writeFileSync(join(dir, "config.yaml"), configYaml(opts.upstreamPort));
  const masterKey = `sk-bench-${randomBytes(16).toString("hex")}`;
  const args = ["--config", join(dir, "config.yaml"), "--host", "127.0.0.1", "--port", String(opts.port)];
  args.push("--num_workers", String(opts.workers));
  // uvicorn's default worker health check (5 s) kills workers that are still importing litellm on a busy machine.
  if (opts.workers > 1) args.push("--timeout_worker_healthcheck", "120");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LITELLM_MASTER_KEY: masterKey,
    LITELLM_LOCAL_MODEL_COST_MAP: "True",
    LITELLM_LOG: "ERROR",
    LITELLM_MODE: "PRODUCTION",
    LITELLM_TELEMETRY: "False",
  };
  delete env["DATABASE_URL"];
  const child = spawn(opts.bin, args, { cwd: dir, env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  await waitHealthy(opts.port, child, () => stderr, 180_000);
  return { child, port: opts.port, masterKey };
}

async function waitHealthy(port: number, child: ChildProcess, stderr: () => string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`litellm exited with ${child.exitCode}: ${stderr().slice(-800)}`);
    const ok = await fetch(`http://127.0.0.1:${port}/health/readiness`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  child.kill("SIGTERM");
  throw new Error(`litellm did not become ready in ${ms / 1000} s: ${stderr().slice(-800)}`);
}
