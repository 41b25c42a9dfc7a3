import { afterEach, describe, expect, it, vi } from "vitest";
import { CHILD_TIMEOUT_MS, childError, Progress } from "./progress.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("image build progress", () => {
  it("reports each step's time as it ends, and none for a step that fails", async () => {
    let now = 0;
    const lines: string[] = [];
    const progress = new Progress(
      (l) => lines.push(l),
      () => now,
    );
    await progress.step("compile", () => {
      now += 1234;
      return Promise.resolve();
    });
    await expect(
      progress.step("npm ls", () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(lines).toEqual(["[image] compile: 1.2 s"]);
    expect(progress.inFlight()).toEqual([]);
  });

  it("names the steps still running when the deadline passes, and nothing once cancelled", async () => {
    vi.useFakeTimers();
    const progress = new Progress(undefined, () => Date.now());
    const overruns: string[] = [];
    let finish: () => void = () => undefined;
    const stuck = progress.step("write routewise.tar", () => new Promise<void>((r) => (finish = r)));
    void progress.deadline(60_000, (m) => overruns.push(m));
    vi.advanceTimersByTime(60_000);
    expect(overruns).toEqual(["not done after 60.0 s; still running: write routewise.tar (60.0 s)"]);

    const cancel = progress.deadline(1_000, (m) => overruns.push(m));
    finish();
    await stuck;
    cancel();
    vi.advanceTimersByTime(5_000);
    expect(overruns).toHaveLength(1);
  });

  it("says a child ran out of time, and leaves other errors as they are", () => {
    const killed = Object.assign(new Error("Command failed: tsc"), { killed: true, signal: "SIGKILL" });
    expect(String(childError("tsc", killed))).toContain(`tsc did not finish within ${CHILD_TIMEOUT_MS / 1000} s`);
    const timedOut = Object.assign(new Error("spawnSync ldd ETIMEDOUT"), { code: "ETIMEDOUT" });
    expect((childError("ldd", timedOut) as Error).cause).toBe(timedOut);
    const other = new Error("exit 2");
    expect(childError("tsc", other)).toBe(other);
  });
});
