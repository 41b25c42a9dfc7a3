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
 * - A destination slower than the log (a stdout pipe nobody drains fast enough, a stalled disk) does not grow the
 *   router's memory without bound: past MAX_UNWRITTEN_BYTES waiting, the sink drops what it is handed and the
 *   lines are counted (`drop`, `onDropped`: routewise_log_lines_dropped_total).
 */
import type { DestinationStream } from "pino";

/** Where the lines go: an FdSink (cli/fd-sink.ts) on stdout or a file in the CLI, a fake in tests. */
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

/** Bytes of lines a destination may have waiting before the lines handed to it are dropped (and counted). */
export const MAX_UNWRITTEN_BYTES = 16 * 1024 * 1024;

/** How long the exit flush keeps retrying a destination that is full before it gives up on the rest. */
export const EXIT_FLUSH_MS = 2000;

export class LogLines {
  private pending = "";
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined = undefined;
  private droppedLines = 0;
  private dropListener: ((lines: number) => void) | undefined = undefined;

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

  /** The sink had no room for `chunk` (its destination is MAX_UNWRITTEN_BYTES behind): its lines are counted, not kept. */
  readonly drop = (chunk: string): void => {
    let lines = 0;
    for (let at = chunk.indexOf("\n"); at >= 0; at = chunk.indexOf("\n", at + 1)) lines++;
    if (lines === 0) return;
    this.droppedLines += lines;
    this.dropListener?.(lines);
  };

  /**
   * Calls `listener` at once with the lines dropped so far (0 as a rule), then with every later drop: a counter fed
   * by it exists from the start, so Prometheus's increase() sees the first drop (RoutewiseLogLinesDropped).
   */
  onDropped(listener: (lines: number) => void): void {
    this.dropListener = listener;
    listener(this.droppedLines);
  }

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
