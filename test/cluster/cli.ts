/** Driving the real `npm run cluster` CLI from tests: spawn, wait for its ready line, signal it, run commands. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isRecord } from "../../router/config/json.js";
import { HarnessError, repoRoot, toolPath } from "../harness/tools.js";
import { waitFor } from "../harness/wait.js";
import { snapshotHost, type HostSnapshot } from "./host-snapshot.js";

export const CLI_SCRIPT = "scripts/cluster/main.ts";

export interface ReadyLine {
  readonly kubeconfig: string;
  readonly nodeIP: string;
  readonly dir: string;
  readonly readySeconds: number;
  /** The CLI's own pid (npx → sh → tsx → node: the innermost). */
  readonly pid: number;
}

export interface Cli {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  readonly exited: Promise<number | null>;
}

function parseReady(line: string): ReadyLine | undefined {
  try {
    const value: unknown = JSON.parse(line);
    if (!isRecord(value) || typeof value["kubeconfig"] !== "string" || typeof value["dir"] !== "string") {
      return undefined;
    }
    return {
      kubeconfig: value["kubeconfig"],
      nodeIP: String(value["nodeIP"]),
      dir: value["dir"],
      readySeconds: Number(value["readySeconds"]),
      pid: Number(value["pid"]),
    };
  } catch {
    return undefined;
  }
}

/** Starts `npx tsx scripts/cluster/main.ts` in its own process group (npx does not pass signals on). */
export function startCli(kubeconfig: string): Cli {
  const child = spawn("npx", ["tsx", CLI_SCRIPT, "--kubeconfig", kubeconfig], {
    cwd: repoRoot,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout.on("data", (chunk: Buffer) => stdout.push(...chunk.toString("utf8").split("\n").filter(Boolean)));
  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk.toString("utf8")));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, stdout, stderr, exited };
}

/** [pid, ppid] of the processes in a process group whose command line names the CLI script. */
export async function cliProcesses(pgid: number): Promise<Array<[number, number]>> {
  const found: Array<[number, number]> = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, "utf8");
      const [ppid, group] = stat
        .slice(stat.lastIndexOf(")") + 2)
        .split(" ")
        .slice(1, 3)
        .map(Number);
      const cmdline = await readFile(`/proc/${name}/cmdline`, "utf8");
      if (group === pgid && ppid !== undefined && cmdline.includes(CLI_SCRIPT)) found.push([Number(name), ppid]);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** SIGTERM to the CLI itself, by the pid its ready line names; every wrapper then exits with its exit code. */
export function terminate(ready: ReadyLine): void {
  process.kill(ready.pid, "SIGTERM");
}

/** Runs a command; resolves with its exit code and stdout (never rejects on a non-zero exit). */
export function run(command: string, args: readonly string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "ignore"] });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout }));
  });
}

export async function kubectl(kubeconfig: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(toolPath("kubectl"), ["--kubeconfig", kubeconfig, ...args], { stdio: "pipe" });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString("utf8")));
    child.once("close", (code) => {
      if (code === 0) resolve(out);
      else reject(new HarnessError(`kubectl ${args.join(" ")}: ${err.trim()}`));
    });
    child.stdin.end(input ?? "");
  });
}

/** Waits for the CLI's JSON ready line; fails with its stderr when it exits first or takes too long. */
export async function waitReady(cli: Cli, timeoutMs = 480_000): Promise<ReadyLine> {
  try {
    return await waitFor(
      () => {
        if (cli.child.exitCode !== null || cli.child.signalCode !== null) {
          throw new HarnessError(`the CLI exited: ${cli.stderr.join("")}`);
        }
        return cli.stdout.map(parseReady).find((line) => line !== undefined);
      },
      timeoutMs,
      { intervalMs: 250, description: "the CLI's ready line" },
    );
  } catch (error) {
    throw new HarnessError(`${String(error)}\n${cli.stderr.join("").slice(-4000)}`, { cause: error });
  }
}

/** Sends `signal` to every process of the CLI's group and waits until none is left. */
export async function killGroup(cli: Cli, signal: NodeJS.Signals): Promise<void> {
  const pgid = cli.child.pid;
  if (pgid === undefined || (await cliProcesses(pgid)).length === 0) return;
  process.kill(-pgid, signal);
  await waitFor(async () => (await cliProcesses(pgid)).length === 0, 240_000, { intervalMs: 500 });
}

/** A CLI started by {@link startReadyCli}: the host as it was before, the scratch directory, the CLI, its ready line. */
export interface ReadyCli {
  readonly before: HostSnapshot;
  readonly work: string;
  readonly cli: Cli;
  readonly ready: ReadyLine;
}

/**
 * Snapshots the host, starts the CLI with its kubeconfig in a new scratch directory (`<tmpdir>/<prefix>XXXXXX`) and
 * waits for its ready line. The caller removes `work` (and stops the CLI) when done.
 */
export async function startReadyCli(prefix: string): Promise<ReadyCli> {
  const before = await snapshotHost();
  const work = await mkdtemp(join(tmpdir(), prefix));
  const cli = startCli(join(work, "admin.kubeconfig"));
  const ready = await waitReady(cli);
  return { before, work, cli, ready };
}
