import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { abortableDelay, CallAbort } from "./call-signal.js";

describe("CallAbort", () => {
  it("aborts once, with the first reason, and tells its listeners", async () => {
    const signal = new CallAbort();
    const heard = once(signal, "abort");
    signal.abort(new Error("first"));
    signal.abort(new Error("second"));
    await heard;
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe("first");
    expect(signal.listenerCount("abort")).toBe(0);
  });

  it("is a signal undici accepts: aborting it fails a request in flight with its reason", async () => {
    const { request } = await import("undici");
    // A loopback server that never answers: only the signal can end the call.
    const server = createServer(() => undefined);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    try {
      const signal = new CallAbort();
      const call = request(`http://127.0.0.1:${port}/`, { signal }).catch((e: unknown) => e);
      setTimeout(
        () => signal.abort(new DOMException("no answer within the attempt timeout (5ms)", "TimeoutError")),
        20,
      );
      expect(await call).toBe(signal.reason);
      expect(signal.listenerCount("abort")).toBe(0);
      // Already aborted: the call fails once it has a connection, with the same reason.
      const again = await request(`http://127.0.0.1:${port}/`, { signal }).catch((e: unknown) => e);
      expect(again).toBe(signal.reason);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe("abortableDelay", () => {
  it("resolves after the delay and leaves no listener", async () => {
    const signal = new CallAbort();
    await abortableDelay(1, signal);
    expect(signal.listenerCount("abort")).toBe(0);
  });

  it("rejects with the reason when aborted first, or at once when already aborted", async () => {
    const signal = new CallAbort();
    const waiting = abortableDelay(60_000, signal);
    signal.abort(new Error("client disconnected"));
    await expect(waiting).rejects.toThrow("client disconnected");
    await expect(abortableDelay(1, signal)).rejects.toThrow("client disconnected");
  });

  it("takes an AbortSignal too", async () => {
    await expect(abortableDelay(60_000, AbortSignal.abort(new Error("gone")))).rejects.toThrow();
  });
});
