import { describe, expect, it } from "vitest";
import { WorkQueue } from "./queue.js";

describe("WorkQueue", () => {
  it("processes a key added many times while queued once", async () => {
    const seen: string[] = [];
    const q = new WorkQueue(
      (k) => {
        seen.push(k);
        return Promise.resolve();
      },
      { baseDelayMs: 1, maxDelayMs: 10 },
      () => undefined,
    );
    q.add("a");
    q.add("a");
    q.add("a");
    await q.idle();
    expect(seen).toEqual(["a"]);
  });

  it("runs a key again when it is added while being processed", async () => {
    let runs = 0;
    let q: WorkQueue | null = null;
    q = new WorkQueue(
      async () => {
        runs++;
        if (runs === 1) q?.add("a");
        await new Promise((r) => setTimeout(r, 5));
      },
      { baseDelayMs: 1, maxDelayMs: 10 },
      () => undefined,
    );
    q.add("a");
    await new Promise((r) => setTimeout(r, 50));
    await q.idle();
    expect(runs).toBe(2);
  });

  it("retries a failing key with growing backoff until it succeeds", async () => {
    const attempts: number[] = [];
    let calls = 0;
    const q = new WorkQueue(
      () => {
        calls++;
        return calls < 3 ? Promise.reject(new Error("boom")) : Promise.resolve();
      },
      { baseDelayMs: 5, maxDelayMs: 50 },
      (_key, _err, attempt) => attempts.push(attempt),
    );
    q.add("a");
    await new Promise((r) => setTimeout(r, 100));
    await q.idle();
    expect(calls).toBe(3);
    expect(attempts).toEqual([1, 2]);
  });
});
