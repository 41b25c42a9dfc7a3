/**
 * What `npm run image` is doing, on stderr: one line as each step ends, with its time, and — when the build overruns
 * its deadline — the steps still running. A CI log then shows where a slow or stuck build is, not only that the run
 * stopped. Every child process the build starts gets a timeout too ({@link CHILD_TIMEOUT_MS}).
 */

/** The longest any one child process (tsc, npm ls, ldd, go) may run; a loaded 2-core machine compiles in ~1 min. */
export const CHILD_TIMEOUT_MS = 10 * 60_000;

/** Options for execFile/execFileSync: the timeout above, and SIGKILL so a stuck child cannot ignore it. */
export const CHILD_LIMITS = { timeout: CHILD_TIMEOUT_MS, killSignal: "SIGKILL" } as const;

/** The error of a child that ran out of time, said plainly; any other error unchanged. */
export function childError(what: string, error: unknown): unknown {
  const e = error as { killed?: boolean; code?: unknown } | null;
  if (e?.killed === true || e?.code === "ETIMEDOUT") {
    return new Error(`${what} did not finish within ${CHILD_TIMEOUT_MS / 1000} s and was killed`, { cause: error });
  }
  return error;
}

export class Progress {
  private readonly running = new Map<number, { name: string; started: number }>();
  private next = 0;

  constructor(
    private readonly out: (line: string) => void = () => undefined,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Runs one step; reports its time when it ends (a failure is reported by whoever catches it). */
  async step<T>(name: string, run: () => T | Promise<T>): Promise<T> {
    const id = this.next++;
    const started = this.now();
    this.running.set(id, { name, started });
    try {
      const result = await run();
      this.out(`[image] ${name}: ${seconds(this.now() - started)}`);
      return result;
    } finally {
      this.running.delete(id);
    }
  }

  /**
   * Calls `overrun` with a message naming the steps in flight if the build is still running after `ms`; returns the
   * cancel. The timer is not unref'd: a build stalled on a promise nothing will settle ends there, not with exit 0.
   */
  deadline(ms: number, overrun: (message: string) => void): () => void {
    const timer = setTimeout(() => {
      const steps = this.inFlight();
      overrun(
        `not done after ${seconds(ms)}; still running: ${steps.length > 0 ? steps.join(", ") : "nothing it reports (between steps)"}`,
      );
    }, ms);
    return () => {
      clearTimeout(timer);
    };
  }

  /** The steps in flight, oldest first, each with how long it has run ("tsc (412.3 s)"). */
  inFlight(): string[] {
    const now = this.now();
    return [...this.running.values()].map((s) => `${s.name} (${seconds(now - s.started)})`);
  }
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
