/**
 * `npm run cluster` end to end: the real CLI starts the single-node cluster, the node is Ready in the API server,
 * pods really run from the locally built images, and SIGTERM stops everything and leaves the host exactly as it
 * was (links, routes, netns, nft and iptables rules, mounts, kubepods cgroups, sysctls, processes).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRecord } from "../../router/config/json.js";
import { HarnessError, repoRoot, toolPath } from "../harness/tools.js";
import { waitFor } from "../harness/wait.js";
import { clusterProcesses, snapshotHost, type HostSnapshot } from "./host-snapshot.js";

const CLI_SCRIPT = "scripts/cluster/main.ts";

interface ReadyLine {
  readonly kubeconfig: string;
  readonly nodeIP: string;
  readonly dir: string;
  readonly readySeconds: number;
}

interface Cli {
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
    };
  } catch {
    return undefined;
  }
}

/** Starts `npx tsx scripts/cluster/main.ts` in its own process group (npx does not pass signals on). */
function startCli(kubeconfig: string): Cli {
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
async function cliProcesses(pgid: number): Promise<Array<[number, number]>> {
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

/**
 * SIGTERM to the CLI itself: the innermost process running the script (npx → sh → tsx → node). npx does not pass
 * signals on, but tsx waits for its child and every wrapper exits with the CLI's exit code.
 */
async function terminate(cli: Cli): Promise<void> {
  const pgid = cli.child.pid;
  if (pgid === undefined) return;
  const procs = await cliProcesses(pgid);
  const parents = new Set(procs.map(([, ppid]) => ppid));
  const innermost = procs.find(([pid]) => !parents.has(pid));
  if (innermost === undefined) throw new HarnessError(`no process in group ${pgid} runs ${CLI_SCRIPT}`);
  process.kill(innermost[0], "SIGTERM");
}

async function kubectl(kubeconfig: string, args: readonly string[], input?: string): Promise<string> {
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

const POD = `apiVersion: v1
kind: Pod
metadata: {name: pause, namespace: default}
spec:
  containers:
    - name: pause
      image: localhost/k8s-pause:1
      imagePullPolicy: Never
`;

function versionJob(image: string): string {
  return `apiVersion: batch/v1
kind: Job
metadata: {name: routewise-version, namespace: default}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: routewise
          image: ${image}
          imagePullPolicy: Never
          args: ["--version"]
`;
}

describe("npm run cluster", () => {
  let before: HostSnapshot;
  let work: string;
  let cli: Cli;
  let ready: ReadyLine;

  beforeAll(async () => {
    before = await snapshotHost();
    work = await mkdtemp(join(tmpdir(), "routewise-cluster-test-"));
    cli = startCli(join(work, "admin.kubeconfig"));
    ready = await waitFor(
      () => {
        if (cli.child.exitCode !== null) throw new HarnessError(`the CLI exited: ${cli.stderr.join("")}`);
        return cli.stdout.map(parseReady).find((line) => line !== undefined);
      },
      480_000,
      { intervalMs: 250, description: "the CLI's ready line" },
    ).catch((error: unknown) => {
      throw new HarnessError(`${String(error)}\n${cli.stderr.join("").slice(-4000)}`, { cause: error });
    });
  }, 600_000);

  afterAll(async () => {
    // Only when a test failed before the last one: stop the whole group and wait for the CLI to restore the host.
    const pgid = cli.child.pid;
    if (pgid !== undefined && (await cliProcesses(pgid)).length > 0) {
      process.kill(-pgid, "SIGTERM");
      await waitFor(async () => (await cliProcesses(pgid)).length === 0, 240_000, { intervalMs: 500 });
    }
    await rm(work, { recursive: true, force: true });
  }, 300_000);

  it("writes the admin kubeconfig once the node is Ready in the API server", async () => {
    expect(existsSync(ready.kubeconfig)).toBe(true);
    const jsonpath = '{.status.conditions[?(@.type=="Ready")].status} {.status.addresses[0].address}';
    const out = await kubectl(ready.kubeconfig, ["get", "node", "k8s-node", "-o", `jsonpath=${jsonpath}`]);
    expect(out.trim()).toBe(`True ${ready.nodeIP}`);
  });

  it("runs a pod from the pause image", async () => {
    await kubectl(ready.kubeconfig, ["apply", "-f", "-"], POD);
    const status = await waitFor(
      async () => {
        const path = "{.status.phase} {.status.containerStatuses[0].ready} {.status.podIP}";
        const out = await kubectl(ready.kubeconfig, ["get", "pod", "pause", "-o", `jsonpath=${path}`]);
        return out.startsWith("Running true ") ? out : undefined;
      },
      120_000,
      { intervalMs: 500, description: "the pause pod Running and ready" },
    );
    expect(status).toMatch(/^Running true 10\.88\./);
  });

  it("runs `routewise --version` as a Job from the routewise image when it was imported", async (ctx) => {
    const images = await kubectl(ready.kubeconfig, [
      "get",
      "node",
      "k8s-node",
      "-o",
      "jsonpath={.status.images[*].names[*]}",
    ]);
    const image = images.split(" ").find((name) => name.startsWith("localhost/routewise:"));
    if (image === undefined) {
      ctx.skip();
      return;
    }
    await kubectl(ready.kubeconfig, ["apply", "-f", "-"], versionJob(image));
    await waitFor(
      async () => {
        const out = await kubectl(ready.kubeconfig, [
          "get",
          "job",
          "routewise-version",
          "-o",
          "jsonpath={.status.succeeded}",
        ]);
        return out.trim() === "1";
      },
      180_000,
      { intervalMs: 1_000, description: "the routewise --version Job to succeed" },
    );
    const logs = await kubectl(ready.kubeconfig, ["logs", "job/routewise-version"]);
    expect(logs).toMatch(/\d+\.\d+\.\d+/);
  });

  it("stops on SIGTERM, exits 0 and leaves the host as it was", async () => {
    await terminate(cli);
    expect(await cli.exited).toBe(0);
    expect(cli.stdout.some((line) => line.includes('"stopped":true'))).toBe(true);
    expect(existsSync(ready.kubeconfig)).toBe(false);
    expect(await clusterProcesses(ready.dir)).toEqual([]);
    expect(await snapshotHost()).toEqual(before);
  });
});
