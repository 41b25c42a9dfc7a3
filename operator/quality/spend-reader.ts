/**
 * Reads the spend of this controller's budgeted routes and keys every interval (like QualityReader: one read at a
 * time) and keeps the latest result for the reconciler. A failed read keeps the previous readings, so a Prometheus
 * hiccup does not strip the spend from every status; a reading of a period that has ended is not shown.
 */
import type { Logger } from "pino";
import { PrometheusError, type PrometheusClient } from "./prometheus.js";
import { readSpend, type SpendReading, type SpendTarget } from "./spend.js";

export interface SpendSnapshot {
  readings: ReadonlyMap<string, SpendReading>;
}

export const NO_SPEND: SpendSnapshot = { readings: new Map() };

export interface SpendReaderOptions {
  client: PrometheusClient;
  intervalMs: number;
  targets: () => SpendTarget[];
  /** Called after every read (the operator enqueues a reconcile). */
  onRead: () => void;
  logger: Logger;
  now: () => Date;
}

export class SpendReader {
  private snap: SpendSnapshot = NO_SPEND;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private error: string | null = null;

  constructor(private readonly o: SpendReaderOptions) {}

  snapshot(): SpendSnapshot {
    return this.snap;
  }

  start(): void {
    const tick = async (): Promise<void> => {
      await this.readOnce();
      if (!this.stopped) this.timer = setTimeout(() => void tick(), this.o.intervalMs);
    };
    void tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  async readOnce(): Promise<void> {
    const targets = this.o.targets();
    try {
      const readings = targets.length === 0 ? new Map() : await readSpend(this.o.client, targets, this.o.now());
      if (this.error !== null) this.o.logger.info({ targets: targets.length }, "Read budget spend again");
      this.error = null;
      this.snap = { readings };
    } catch (err) {
      const error = err instanceof PrometheusError ? err.message : "query failed";
      if (error !== this.error) this.o.logger.warn({ error }, "Failed to read budget spend from Prometheus");
      this.error = error;
    }
    if (!this.stopped) this.o.onRead();
  }
}
