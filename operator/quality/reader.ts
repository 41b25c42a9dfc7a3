/**
 * Reads the quality rules for this controller's programmed routes every interval and keeps the latest result
 * for the reconciler (which turns it into status and auto shadow). One read at a time; a slow Prometheus delays
 * the next read rather than piling reads up.
 */
import type { Logger } from "pino";
import { NO_QUALITY_SOURCE, type QualitySnapshot } from "./plan.js";
import { PrometheusError, type PrometheusClient } from "./prometheus.js";
import type { LearningReading, LearningTarget } from "./learning.js";
import { readLearning } from "./learning-reader.js";
import { queryRules, readingsFrom, type QualityTarget } from "./reading.js";

/** How often learning routes' evidence is read by default: their tables change the router config (ADR 12). */
export const DEFAULT_LEARNING_INTERVAL_MS = 300_000;

export interface QualityReaderOptions {
  /** null: no --prometheus-url (every route's QualityMet says NoMetricsSource). */
  client: PrometheusClient | null;
  intervalMs: number;
  /** The routes to read, from the reconciler's last pass. */
  targets: () => QualityTarget[];
  /** Called after every read (the operator enqueues a reconcile). */
  onRead: () => void;
  logger: Logger;
  /** Counts each read by result (the operator's routewise_operator_quality_reads_total). */
  count?: (result: "success" | "error") => void;
  /**
   * Learning routes' evidence is read at most this often (default DEFAULT_LEARNING_INTERVAL_MS); in between, reads
   * keep the last evidence, so a table (and the config) changes at most once per interval.
   */
  learningIntervalMs?: number;
  /** Monotonic clock in ms (default performance.now). */
  now?: () => number;
}

export class QualityReader {
  private snap: QualitySnapshot;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** When learning evidence was last read (clock ms), or null. */
  private learnedAt: number | null = null;

  constructor(private readonly o: QualityReaderOptions) {
    this.snap = o.client
      ? { configured: true, seq: 0, error: null, readings: new Map(), learning: new Map() }
      : NO_QUALITY_SOURCE;
  }

  snapshot(): QualitySnapshot {
    return this.snap;
  }

  /** Reads now, then every interval, until stop(). Without a client there is nothing to read. */
  start(): void {
    if (!this.o.client) return;
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
    const client = this.o.client;
    if (!client) return;
    const targets = this.o.targets();
    const seq = this.snap.seq + 1;
    try {
      const readings = targets.length === 0 ? new Map() : readingsFrom(await queryRules(client, targets), targets);
      const learning = await this.readLearning(client, targets);
      if (this.snap.error !== null) this.o.logger.info({ routes: targets.length }, "Read measured quality again");
      this.snap = { configured: true, seq, error: null, readings, learning };
      this.o.count?.("success");
    } catch (err) {
      this.failed(seq, err);
    }
    if (!this.stopped) this.o.onRead();
  }

  /** Learning routes' evidence: read anew once per learning interval (or after a failed read), else kept. */
  private async readLearning(
    client: PrometheusClient,
    targets: readonly QualityTarget[],
  ): Promise<ReadonlyMap<string, LearningReading>> {
    const learning: LearningTarget[] = targets.flatMap((t) =>
      t.learningWindow ? [{ key: t.key, route: t.route, namespace: t.namespace, window: t.learningWindow }] : [],
    );
    const now = (this.o.now ?? (() => performance.now()))();
    const interval = this.o.learningIntervalMs ?? DEFAULT_LEARNING_INTERVAL_MS;
    const kept = new Map([...this.snap.learning].filter(([key]) => learning.some((t) => t.key === key)));
    const due = this.learnedAt === null || now - this.learnedAt >= interval;
    if (!due && learning.every((t) => kept.has(t.key))) return kept;
    const read = await readLearning(client, learning);
    this.learnedAt = now;
    return read;
  }

  private failed(seq: number, err: unknown): void {
    const error = err instanceof PrometheusError ? err.message : "query failed";
    if (error !== this.snap.error) this.o.logger.warn({ error }, "Failed to read measured quality from Prometheus");
    this.snap = { configured: true, seq, error, readings: new Map(), learning: new Map() };
    this.learnedAt = null;
    this.o.count?.("error");
  }
}
