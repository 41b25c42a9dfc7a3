import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { startControlPlane, type ControlPlane } from "./control-plane.js";
import { describeExit } from "./process.js";

const USAGE = "usage: npm run control-plane -- --kubeconfig PATH [--keep-temp-dir]";

function parseCli(): { kubeconfig: string; keepTempDir: boolean } {
  const { values } = parseArgs({
    options: { kubeconfig: { type: "string" }, "keep-temp-dir": { type: "boolean", default: false } },
  });
  if (values.kubeconfig === undefined || values.kubeconfig === "") {
    throw new Error(`--kubeconfig is required\n${USAGE}`);
  }
  return { kubeconfig: resolve(values.kubeconfig), keepTempDir: values["keep-temp-dir"] };
}

/** Parent pid of `pid` from /proc (Linux); undefined where /proc is not available. */
function parentOf(pid: number): number | undefined {
  if (!existsSync(`/proc/${pid}/stat`)) return undefined;
  // Format: "pid (comm) state ppid ..."; comm may contain spaces and parentheses.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

/** Pids from our parent up to (excluding) init; "[ppid]" where /proc is not available. */
function ancestry(): string {
  const chain: number[] = [];
  for (let pid: number | undefined = process.ppid; pid !== undefined && pid > 1 && chain.length < 64;) {
    chain.push(pid);
    pid = parentOf(pid);
  }
  return chain.join(",");
}

/**
 * `npm run` does not pass SIGTERM on to its script (sh dies, tsx and this process are orphaned), so
 * also stop when any ancestor process goes away.
 */
function onAncestorExit(callback: () => void): NodeJS.Timeout {
  const initial = ancestry();
  const timer = setInterval(() => {
    if (ancestry() !== initial) callback();
  }, 1_000);
  timer.unref();
  return timer;
}

/** Resolves with the exit code once a signal arrives or a parent exits (0), or a child dies on its own (1). */
function untilDone(plane: ControlPlane): Promise<number> {
  return new Promise((done) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      console.log(`control plane: ${signal} received, stopping`);
      done(0);
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    const watch = onAncestorExit(() => {
      clearInterval(watch);
      console.log("control plane: parent process exited, stopping");
      done(0);
    });
    void plane.exited.then((exit) => {
      console.error(`control plane: ${describeExit(exit)}; logs are in ${plane.tempDir}`);
      done(1);
    });
  });
}

async function main(): Promise<number> {
  const args = parseCli();
  const plane = await startControlPlane({ keepTempDir: args.keepTempDir });
  // Signal listeners and unref'd children do not keep Node alive; this timer does.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    await writeFile(args.kubeconfig, plane.kubeconfigYaml, { mode: 0o600 });
    console.log(
      `control plane ${plane.server} ready in ${plane.startupMs} ms` +
        ` (kube-controller-manager ${plane.controllerManagerStartupMs} ms of it: garbage collector, namespaces);` +
        ` admin kubeconfig written to ${args.kubeconfig}` +
        ` (logs in ${plane.tempDir}); SIGINT/SIGTERM stops it`,
    );
    return await untilDone(plane);
  } finally {
    clearInterval(keepAlive);
    await plane.stop();
    console.log(args.keepTempDir ? `control plane stopped; kept ${plane.tempDir}` : "control plane stopped");
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
