import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { scopedSignal } from "./abort.js";

describe("scopedSignal", () => {
  it("does not fire at once when a timeout is longer than Node's timers hold (issue 15 #7)", async () => {
    // Past 2^31-1 ms a Node timer fires after 1 ms: a 700 h route timeout failed every request.
    const scoped = scopedSignal(null, 700 * 3_600_000);
    await sleep(50);
    expect(scoped.signal.aborted).toBe(false);
    scoped.rearm(2 ** 40, "later");
    await sleep(50);
    expect(scoped.signal.aborted).toBe(false);
    scoped.dispose();
  });

  it("aborts with a TimeoutError saying which deadline passed", async () => {
    const scoped = scopedSignal(null, 1, "no first token");
    await sleep(20);
    expect(scoped.signal.reason).toMatchObject({ name: "TimeoutError", message: "no first token" });
  });
});
