import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { HarnessError } from "../tools.js";
import { LOCK_FILE } from "./constants.js";

/** The machine-wide cluster lock, held until release() (or until this process dies). */
export interface ClusterLock {
  release(): void;
}

function ownerOf(file: string): string {
  try {
    return existsSync(file) ? readFileSync(file, "utf8").trim() || "unknown" : "unknown";
  } catch {
    return "unknown";
  }
}

/** Options for {@link acquireClusterLock}. */
export interface LockOptions {
  /** Give up after this long (default 30 min: a chart-test run may hold the cluster that long). */
  readonly timeoutMs?: number;
  /** Where the "waiting for" message goes (default stderr). */
  readonly log?: (line: string) => void;
}

/**
 * Takes an exclusive flock(2) on /run/routewise-cluster.lock, waiting for the holder with a message naming its
 * pid. util-linux's flock holds the lock in a child whose stdin is a pipe from this process: when this process
 * exits or dies, even by SIGKILL, the pipe closes, the child exits and the kernel drops the lock. No stale lock
 * survives a crash; the state file does (see restore.ts).
 */
export function acquireClusterLock(options: LockOptions = {}): Promise<ClusterLock> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const timeoutMs = options.timeoutMs ?? 30 * 60_000;
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(
      "/usr/bin/setpriv",
      ["--pdeathsig", "KILL", "--", "flock", "--exclusive", LOCK_FILE, "sh", "-c", "echo locked; exec cat >/dev/null"],
      // Its own process group: a terminal's Ctrl-C must not end the lock before the cluster is stopped.
      { stdio: ["pipe", "pipe", "inherit"], detached: true },
    );
    let settled = false;
    const waiting = setTimeout(() => {
      log(`Waiting for the single-node cluster lock ${LOCK_FILE}, held by pid ${ownerOf(LOCK_FILE)}`);
    }, 1_000);
    const giveUp = setTimeout(() => {
      fail(new HarnessError(`timed out after ${timeoutMs} ms waiting for ${LOCK_FILE} (pid ${ownerOf(LOCK_FILE)})`));
      child.kill("SIGKILL");
    }, timeoutMs);
    const fail = (error: Error): void => {
      clearTimeout(waiting);
      clearTimeout(giveUp);
      if (!settled) reject(error);
      settled = true;
    };
    child.once("error", (error) => {
      fail(new HarnessError(`cannot run flock for ${LOCK_FILE}: ${error.message}`, { cause: error }));
    });
    child.once("exit", (code) => {
      fail(new HarnessError(`flock on ${LOCK_FILE} exited with ${String(code)} before taking the lock`));
    });
    child.stdout?.once("data", () => {
      clearTimeout(waiting);
      clearTimeout(giveUp);
      if (settled) return;
      settled = true;
      writeFileSync(LOCK_FILE, `${process.pid}\n`);
      child.unref();
      child.stdin?.on("error", () => undefined);
      resolve({
        release: () => {
          child.removeAllListeners("exit");
          writeFileSync(LOCK_FILE, "");
          child.stdin?.end();
        },
      });
    });
  });
}
