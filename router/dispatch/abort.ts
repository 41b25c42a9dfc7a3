/**
 * A child abort signal that fires when its parent aborts or its timeout passes, and that cleans up after
 * itself. Cheaper than AbortSignal.any + AbortSignal.timeout on Node 20 (which showed in the proxy profile).
 */
export interface ScopedSignal {
  signal: AbortSignal;
  /** Aborts now. */
  abort: (reason: unknown) => void;
  /** Clears the timer only (the signal still follows its parent). */
  clearTimer: () => void;
  /** Clears the timer and detaches from the parent. */
  dispose: () => void;
}

export function scopedSignal(parent: AbortSignal | null, timeoutMs: number): ScopedSignal {
  const controller = new AbortController();
  const onParentAbort = (): void => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener("abort", onParentAbort, { once: true });
  const timer = setTimeout(() => controller.abort(new DOMException("timed out", "TimeoutError")), timeoutMs);
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    clearTimer: () => clearTimeout(timer),
    dispose: () => {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParentAbort);
    },
  };
}

/** Why an aborted request signal aborted: its deadline passed, or the client went away. Null while not aborted. */
export function abortCause(signal: AbortSignal): "deadline" | "client_gone" | null {
  if (!signal.aborted) return null;
  const reason: unknown = signal.reason;
  return reason instanceof DOMException && reason.name === "TimeoutError" ? "deadline" : "client_gone";
}
