import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

/** How a child process ended. */
export interface ChildExit {
  readonly name: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error?: Error;
}

const live = new Set<ChildProcess>();
const exitCleanups = new Set<() => void>();
let exitHookInstalled = false;

/** Kills every child still running when this process exits, then runs the cleanups (sync work only). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL");
    for (const cleanup of exitCleanups) cleanup();
  });
}

/**
 * Runs `cleanup` (synchronously) if this process exits before the returned function is called,
 * e.g. when a test runner calls process.exit() in the middle of an asynchronous stop().
 */
export function cleanupOnExit(cleanup: () => void): () => void {
  installExitHook();
  exitCleanups.add(cleanup);
  return () => exitCleanups.delete(cleanup);
}

const SETPRIV = "/usr/bin/setpriv";

/**
 * With util-linux's setpriv the kernel sends SIGKILL to the child when the thread that spawned it dies,
 * even when this process is SIGKILLed and no 'exit' handler runs. setpriv execs the command (same pid).
 */
function withParentDeathSignal(command: string, args: readonly string[]): [string, string[]] {
  return existsSync(SETPRIV) ? [SETPRIV, ["--pdeathsig", "KILL", "--", command, ...args]] : [command, [...args]];
}

/** A long-running child whose stdout and stderr go to a log file. */
export class ManagedProcess {
  readonly exited: Promise<ChildExit>;
  private exitInfo: ChildExit | undefined;

  private constructor(
    readonly name: string,
    readonly logPath: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      const done = (exit: ChildExit): void => {
        live.delete(child);
        this.exitInfo ??= exit;
        resolve(this.exitInfo);
      };
      child.once("error", (error) => {
        done({ name, code: null, signal: null, error });
      });
      child.once("exit", (code, signal) => {
        done({ name, code, signal });
      });
    });
  }

  /** Starts `command` in its own process group, so a terminal's Ctrl-C reaches only the parent. */
  static start(name: string, command: string, args: readonly string[], logPath: string): ManagedProcess {
    installExitHook();
    const fd = openSync(logPath, "a");
    try {
      const [file, argv] = withParentDeathSignal(command, args);
      const child = spawn(file, argv, { stdio: ["ignore", fd, fd], detached: true });
      live.add(child);
      // Never keep the event loop alive just for the child: callers must stop() it.
      child.unref();
      return new ManagedProcess(name, logPath, child);
    } finally {
      closeSync(fd);
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Set once the process has exited (or failed to spawn). */
  get exit(): ChildExit | undefined {
    return this.exitInfo;
  }

  /** The last `lines` lines of the log file. */
  logTail(lines = 30): string {
    try {
      return readFileSync(this.logPath, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch (error) {
      return `(cannot read ${this.logPath}: ${error instanceof Error ? error.message : String(error)})`;
    }
  }

  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the process is gone. */
  async stop(timeoutMs: number): Promise<ChildExit> {
    if (this.exitInfo) return this.exitInfo;
    this.child.kill("SIGTERM");
    const ac = new AbortController();
    const timedOut = sleep(timeoutMs, true, { signal: ac.signal }).catch(() => false);
    const first = await Promise.race([this.exited, timedOut]);
    ac.abort();
    if (first === true) this.child.kill("SIGKILL");
    return this.exited;
  }
}

/** "etcd exited with code 1" / "... was killed by SIGKILL" / "... failed to start: ...". */
export function describeExit(exit: ChildExit): string {
  if (exit.error) return `${exit.name} failed to start: ${exit.error.message}`;
  if (exit.signal) return `${exit.name} was killed by ${exit.signal}`;
  return `${exit.name} exited with code ${String(exit.code)}`;
}
