/**
 * Lines to an open file descriptor (stdout, a --request-log file): the LineSink under LogLines (ADR 5).
 *
 * Written here rather than through pino's sonic-boom, because a log destination that stops taking lines must not
 * take the router down with it, and sonic-boom's exit path does: its `flushSync` retries a full pipe (EAGAIN) every
 * 100 ms for as long as `retryEAGAIN` allows, and a closed one (EPIPE) for ever — pino's own exit hook calls it,
 * so a router whose stdout reader stopped reading, or went away, never exited after SIGTERM. And with nobody
 * reading, its buffer grew without bound (RSS 112 → 307 MB in 30 s under load).
 *
 * - `write` queues a chunk (whole lines) and writes the queue asynchronously, one write at a time, at most
 *   `maxWrite` bytes each and whole chunks only (PIPE_BUF: writes that share a pipe with other processes' stay
 *   atomic), in the order of the calls.
 * - A full non-blocking fd (EAGAIN): the write is retried after RETRY_MS; meanwhile chunks queue up to
 *   `maxQueuedBytes`, and beyond that each chunk handed over is dropped and reported (`onDrop`), not kept.
 * - A closed reader (EPIPE) or a bad fd: nothing more is written; what was queued and what comes is reported as
 *   dropped. Any other error (ENOSPC on a full disk…) drops the chunk being written and goes on with the next.
 * - `writeSync` (process exit) writes what is queued and then its chunk for at most `exitFlushMs` (retrying a full
 *   fd meanwhile); what is left then is dropped. It never throws. A write already in libuv's thread pool is left to it, as
 *   sonic-boom does: done by then as a rule, lost when the process ends first (one batch, at most PIPE_BUF).
 */
import { write as fsWrite, writeSync as fsWriteSync } from "node:fs";
import type { LineSink } from "./log-lines.js";

export interface FdSinkOptions {
  fd: number;
  /** The largest single write (a chunk larger than this is written alone). */
  maxWrite: number;
  /** Bytes that may wait to be written before chunks are dropped. */
  maxQueuedBytes: number;
  /** The longest `writeSync` (the exit flush) takes; what it has not written by then is dropped. */
  exitFlushMs: number;
  /** Told of every chunk that is not written. */
  onDrop: (chunk: string) => void;
}

/** How long a write waits before it retries a full fd. */
const RETRY_MS = 20;

/** Errors after which the fd takes nothing more. */
const CLOSED = new Set(["EPIPE", "EBADF", "EINVAL", "ECONNRESET"]);

export class FdSink implements LineSink {
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  /** A write handed to libuv's thread pool and not yet done (at exit it is written already, or lost). */
  private writing = false;
  private retry: NodeJS.Timeout | undefined = undefined;
  private closed = false;

  constructor(private readonly o: FdSinkOptions) {}

  /** An asynchronous write is in flight. */
  get busy(): boolean {
    return this.writing;
  }

  write(chunk: string): void {
    if (chunk.length === 0) return;
    const buf = Buffer.from(chunk);
    if (this.closed || this.queuedBytes + buf.length > this.o.maxQueuedBytes) {
      this.o.onDrop(chunk);
      return;
    }
    this.queue.push(buf);
    this.queuedBytes += buf.length;
    if (!this.writing && this.retry === undefined) this.next();
  }

  writeSync(chunk: string): void {
    clearTimeout(this.retry);
    this.retry = undefined;
    if (chunk.length > 0) {
      this.queue.push(Buffer.from(chunk));
      this.queuedBytes += Buffer.byteLength(chunk);
    }
    const giveUpAt = Date.now() + this.o.exitFlushMs;
    let gaveUp = this.closed;
    while (this.queue.length > 0 && !gaveUp && Date.now() < giveUpAt) {
      const buf = this.takeWrite();
      try {
        this.written(buf, fsWriteSync(this.o.fd, buf));
      } catch (err) {
        const code = errorCode(err);
        if (code === "EAGAIN") {
          this.queue.unshift(buf);
          this.queuedBytes += buf.length;
          sleepMs(RETRY_MS);
        } else {
          this.o.onDrop(buf.toString());
          this.closed = CLOSED.has(code ?? "");
          gaveUp = true;
        }
      }
    }
    this.dropQueued();
  }

  /** Starts the next asynchronous write. */
  private readonly next = (): void => {
    this.retry = undefined;
    if (this.queue.length === 0 || this.writing) return;
    const buf = this.takeWrite();
    this.writing = true;
    fsWrite(this.o.fd, buf, 0, buf.length, null, (err, n) => {
      this.writing = false;
      if (err === null) this.written(buf, n);
      else if (err.code === "EAGAIN") {
        this.queue.unshift(buf);
        this.queuedBytes += buf.length;
        this.retry = setTimeout(this.next, RETRY_MS);
        return;
      } else {
        this.o.onDrop(buf.toString());
        if (CLOSED.has(err.code ?? "")) {
          this.closed = true;
          this.dropQueued();
        }
      }
      this.next();
    });
  };

  /** Takes whole chunks off the queue, up to maxWrite bytes (at least one chunk). */
  private takeWrite(): Buffer {
    let bytes = 0;
    let count = 0;
    while (count < this.queue.length) {
      const size = this.queue[count]?.length ?? 0;
      if (count > 0 && bytes + size > this.o.maxWrite) break;
      bytes += size;
      count++;
    }
    const taken = this.queue.splice(0, count);
    this.queuedBytes -= bytes;
    return taken.length === 1 && taken[0] !== undefined ? taken[0] : Buffer.concat(taken, bytes);
  }

  /** A write took `n` of `buf`'s bytes (a file on a full disk, a signal): the rest goes first next time. */
  private written(buf: Buffer, n: number): void {
    if (n >= buf.length) return;
    const rest = buf.subarray(n);
    this.queue.unshift(rest);
    this.queuedBytes += rest.length;
  }

  private dropQueued(): void {
    for (const buf of this.queue.splice(0)) this.o.onDrop(buf.toString());
    this.queuedBytes = 0;
  }
}

function errorCode(err: unknown): string | undefined {
  return err instanceof Error && "code" in err && typeof err.code === "string" ? err.code : undefined;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
