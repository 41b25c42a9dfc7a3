/**
 * Keeps an informer's list+watch running: a failed watch is logged and started again a second later, and so is
 * a restart that fails itself (client-node reports a failed list as an "error" event but a failed watch request
 * as a rejected start()), until the operator stops.
 */
import type { Logger } from "pino";

/** The part of a client-node informer this needs. */
export interface Restartable {
  on(verb: "error", cb: (err: unknown) => void): void;
  start(): Promise<void>;
}

export interface WatchedInformer<I extends Restartable = Restartable> {
  /** The API path it lists and watches, for log context. */
  path: string;
  informer: I;
}

export interface RestartOptions {
  logger: Pick<Logger, "warn">;
  delayMs: number;
  /** True once the operator is stopping: no more restarts. */
  stopped: () => boolean;
}

export function restartOnError(w: WatchedInformer, o: RestartOptions): void {
  const restart = (err: unknown): void => {
    if (o.stopped()) return;
    o.logger.warn({ err, path: w.path }, "Watch failed; restarting");
    setTimeout(() => {
      if (!o.stopped()) w.informer.start().catch(restart);
    }, o.delayMs).unref();
  };
  w.informer.on("error", restart);
}
