import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { restartOnError, type Restartable } from "./watch.js";

class FakeInformer implements Restartable {
  errorHandler: ((err: unknown) => void) | null = null;
  starts = 0;
  constructor(private readonly results: (Error | null)[]) {}
  on(_verb: "error", cb: (err: unknown) => void): void {
    this.errorHandler = cb;
  }
  start(): Promise<void> {
    const result = this.results[this.starts++] ?? null;
    return result ? Promise.reject(result) : Promise.resolve();
  }
}

function setup(results: (Error | null)[], stopped = () => false) {
  const informer = new FakeInformer(results);
  const warn = vi.fn();
  restartOnError(
    { path: "/apis/routewise.dev/v1alpha1/modelroutes", informer },
    { logger: { warn }, delayMs: 1_000, stopped },
  );
  return { informer, warn };
}

describe("restartOnError", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("logs a failed watch with its path and starts it again after the delay", async () => {
    const { informer, warn } = setup([]);
    informer.errorHandler?.(new Error("watch closed"));
    expect(warn).toHaveBeenCalledWith(
      { err: new Error("watch closed"), path: "/apis/routewise.dev/v1alpha1/modelroutes" },
      "Watch failed; restarting",
    );
    expect(informer.starts).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(informer.starts).toBe(1);
  });

  it("logs a restart that fails and tries again when start() rejects", async () => {
    const { informer, warn } = setup([new Error("connect ECONNREFUSED"), null]);
    informer.errorHandler?.(new Error("watch closed"));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(warn).toHaveBeenLastCalledWith(
      { err: new Error("connect ECONNREFUSED"), path: "/apis/routewise.dev/v1alpha1/modelroutes" },
      "Watch failed; restarting",
    );
    await vi.advanceTimersByTimeAsync(1_000);
    expect(informer.starts).toBe(2);
  });

  it("does not restart once the operator is stopping", async () => {
    let stopped = false;
    const { informer } = setup([], () => stopped);
    informer.errorHandler?.(new Error("watch closed"));
    stopped = true;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(informer.starts).toBe(0);
  });
});
