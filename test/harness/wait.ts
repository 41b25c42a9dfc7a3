import { setTimeout as sleep } from "node:timers/promises";
import { HarnessError } from "./tools.js";

/** Options for {@link waitFor}. */
export interface WaitOptions {
  /** Delay between attempts (default 100 ms). */
  readonly intervalMs?: number;
  /** Used in the timeout message. */
  readonly description?: string;
  /** Stops waiting at once, rejecting with the signal's reason. */
  readonly signal?: AbortSignal;
}

type Falsy = undefined | null | false;

/**
 * Calls `fn` until it returns something other than undefined, null or false, and resolves with that.
 * Errors thrown by `fn` count as "not yet"; on timeout the last one is the HarnessError's cause.
 */
export async function waitFor<T>(
  fn: () => Promise<T | Falsy> | T | Falsy,
  timeoutMs = 10_000,
  options: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const value = await fn();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const what = options.description ?? "condition";
      const last = lastError instanceof Error ? `: last error: ${lastError.message}` : "";
      throw new HarnessError(`timed out after ${timeoutMs} ms waiting for ${what}${last}`, { cause: lastError });
    }
    try {
      await sleep(options.intervalMs ?? 100, undefined, options.signal ? { signal: options.signal } : {});
    } catch (error) {
      options.signal?.throwIfAborted();
      throw error;
    }
  }
}
