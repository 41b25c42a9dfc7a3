/**
 * A keyed work queue in the client-go style: a key queued twice is processed once; a key added while it is
 * being processed runs again afterwards; failures are retried with per-key exponential backoff.
 */
export interface QueueOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  onDepth?: (depth: number) => void;
}

export type Handler = (key: string) => Promise<void>;

export class WorkQueue {
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly handler: Handler,
    private readonly options: QueueOptions,
    private readonly onError: (key: string, err: unknown, attempt: number) => void,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.report();
    setImmediate(() => void this.process(key));
  }

  get depth(): number {
    return this.queued.size + this.timers.size;
  }

  /** Resolves when nothing is queued, running or waiting for a retry. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private async process(key: string): Promise<void> {
    this.queued.delete(key);
    if (this.stopped) return;
    this.processing.add(key);
    try {
      await this.handler(key);
      this.failures.delete(key);
    } catch (err) {
      const attempt = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, attempt);
      this.onError(key, err, attempt);
      this.retryLater(key, attempt);
    } finally {
      this.processing.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      this.report();
      this.notifyIdle();
    }
  }

  private retryLater(key: string, attempt: number): void {
    if (this.stopped || this.timers.has(key)) return;
    const delay = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (attempt - 1));
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delay);
    timer.unref();
    this.timers.set(key, timer);
  }

  private isIdle(): boolean {
    return this.queued.size === 0 && this.processing.size === 0 && this.timers.size === 0;
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private report(): void {
    this.options.onDepth?.(this.depth);
  }
}
