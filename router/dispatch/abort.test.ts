import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { abortCause, RequestLifetime, scopedSignal } from "./abort.js";

describe("scopedSignal", () => {
  it("does not fire at once when a timeout is longer than Node's timers hold (issue 15 #7)", async () => {
    // Past 2^31-1 ms a Node timer fires after 1 ms: a 700 h route timeout failed every request.
    const scoped = scopedSignal(new RequestLifetime(60_000), 700 * 3_600_000);
    await sleep(50);
    expect(scoped.signal.aborted).toBe(false);
    scoped.rearm(2 ** 40, "later");
    await sleep(50);
    expect(scoped.signal.aborted).toBe(false);
    scoped.dispose();
  });

  it("aborts with a TimeoutError saying which deadline passed", async () => {
    const scoped = scopedSignal(new RequestLifetime(60_000), 1, "no first token");
    await sleep(20);
    expect(scoped.signal.reason).toMatchObject({ name: "TimeoutError", message: "no first token" });
  });
});

describe("RequestLifetime", () => {
  it("aborts the attempts it scopes when it ends, and not those already disposed", () => {
    const lifetime = new RequestLifetime(60_000);
    const done = scopedSignal(lifetime, 60_000);
    done.dispose();
    const running = scopedSignal(lifetime, 60_000);
    const gone = new Error("client disconnected");
    lifetime.end(gone);
    lifetime.end(new Error("later"));
    expect(running.signal.reason).toBe(gone);
    expect(done.signal.aborted).toBe(false);
    expect(lifetime.reason).toBe(gone);
    expect(abortCause(lifetime)).toBe("client_gone");
    running.dispose();
    lifetime.dispose();
  });

  it("an attempt scoped to a request that already ended is aborted at once", () => {
    const lifetime = new RequestLifetime(60_000);
    lifetime.end(new Error("client disconnected"));
    expect(scopedSignal(lifetime, 60_000).signal.aborted).toBe(true);
  });

  it("ends with a TimeoutError when the total timeout passes, which abortCause reads as the deadline", async () => {
    const lifetime = new RequestLifetime(1);
    const attempt = scopedSignal(lifetime, 60_000);
    const { signal } = lifetime;
    await sleep(20);
    expect(abortCause(lifetime)).toBe("deadline");
    expect(signal.aborted).toBe(true);
    expect(attempt.signal.reason).toMatchObject({ name: "TimeoutError" });
    attempt.dispose();
  });

  it("makes its AbortSignal on first use, aborted when it already ended", () => {
    const lifetime = new RequestLifetime(60_000);
    const reason = new Error("client disconnected");
    lifetime.end(reason);
    expect(lifetime.signal.aborted).toBe(true);
    expect(lifetime.signal.reason).toBe(reason);
  });

  it("disposed, its timer no longer ends it", async () => {
    const lifetime = new RequestLifetime(1);
    lifetime.dispose();
    await sleep(20);
    expect(lifetime.aborted).toBe(false);
  });
});
