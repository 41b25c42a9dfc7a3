/**
 * The router's stdout (ADR 5): access-log lines — one per request — are written in batches, every other line at
 * once. One write per access-log line (an `fs.write` through libuv's thread pool whenever none was in flight) cost
 * a loaded router 2-3% more CPU per request than batches do; a lifecycle line (listening, reload, drain, a worker's
 * feedback key) is still on stdout when its event has happened, as an operator tailing the log expects.
 *
 * - A batched line waits at most `maxDelayMs`, or until the batch would pass `maxBytes`.
 * - An immediate line first writes the batch before it, so stdout keeps the order the lines were logged in.
 * - Every write is at most `maxBytes` (unless one line is longer): at PIPE_BUF (4 KiB), the writes of a pod's
 *   cluster workers, which share one stdout pipe, cannot interleave inside a line.
 * - `flushSync` (at exit) writes what is pending before the process ends; a SIGKILL loses at most `maxDelayMs` of
 *   access-log lines.
 */
import type { DestinationStream } from "pino";

/** Where the lines go: pino's sonic-boom on fd 1 in the CLI, a fake in tests. */
export interface LineSink {
  /** Queues a chunk: written soon (asynchronously), in the order of the calls. */
  write(chunk: string): unknown;
  /** Writes everything queued and then `chunk` before it returns (process exit). */
  writeSync(chunk: string): void;
}

export interface LogLinesOptions {
  maxBytes: number;
  maxDelayMs: number;
}

/** PIPE_BUF on Linux: a pipe write up to this size is never interleaved with another process's. */
export const PIPE_BUF = 4096;

export class LogLines {
  private pending = "";
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined = undefined;

  /** Lines written now (after the batch before them). */
  readonly immediate: DestinationStream = {
    write: (line: string) => {
      this.flush();
      this.sink.write(line);
    },
  };

  /** Lines that may wait up to `maxDelayMs`: the access log. */
  readonly batched: DestinationStream = {
    write: (line: string) => {
      const bytes = Buffer.byteLength(line);
      if (this.pendingBytes > 0 && this.pendingBytes + bytes > this.o.maxBytes) this.flush();
      this.pending += line;
      this.pendingBytes += bytes;
      if (this.pendingBytes >= this.o.maxBytes) this.flush();
      else this.timer ??= setTimeout(this.flush, this.o.maxDelayMs).unref();
    },
  };

  constructor(
    private readonly sink: LineSink,
    private readonly o: LogLinesOptions,
  ) {}

  /** Writes the batch now (one write). */
  readonly flush = (): void => {
    if (this.pendingBytes > 0) this.sink.write(this.take());
  };

  /** Writes what the sink holds and then the batch, synchronously (process exit). */
  flushSync(): void {
    this.sink.writeSync(this.take());
  }

  /** The batch, leaving none (and no timer). */
  private take(): string {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = "";
    this.pendingBytes = 0;
    return batch;
  }
}
