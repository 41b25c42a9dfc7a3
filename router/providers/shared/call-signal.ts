/**
 * What aborts an upstream call. Dispatch gives each attempt a `CallAbort`: undici takes an EventEmitter that emits
 * "abort" in place of an AbortSignal (its documented alternative) and reads `aborted` and `reason` from it. On
 * Node 20 an AbortController and its AbortSignal (an EventTarget) cost ~1.8 KB and a few microseconds per attempt,
 * made and listened to on every request; this is an EventEmitter and two fields (ADR 5). Other callers (the judge)
 * pass an AbortSignal.
 */
import { EventEmitter } from "node:events";
import { setTimeout as delay } from "node:timers/promises";

export class CallAbort extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  /** Aborts once (later calls are ignored): `reason` is what the call fails with, as AbortController's. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit("abort");
  }
}

export type CallSignal = AbortSignal | CallAbort;

/** Waits `ms`; rejects with the signal's reason when it aborts first. */
export function abortableDelay(ms: number, signal: CallSignal): Promise<void> {
  if (signal instanceof AbortSignal) return delay(ms, undefined, { signal });
  if (signal.aborted) return Promise.reject(reasonOf(signal));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(reasonOf(signal));
    };
    const timer = setTimeout(() => {
      signal.removeListener("abort", onAbort);
      resolve();
    }, ms);
    signal.once("abort", onAbort);
  });
}

/** The abort reason as the Error a rejection carries (every reason the router aborts with is one). */
function reasonOf(signal: CallAbort): Error {
  const { reason } = signal;
  return reason instanceof Error ? reason : new Error(String(reason), { cause: reason });
}
