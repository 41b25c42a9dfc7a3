import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { pino } from "pino";
import { LogLines, type LineSink } from "./log-lines.js";

/** A sink that records each write, and the synchronous ones apart. */
function recordingSink(): LineSink & { writes: string[]; syncWrites: string[] } {
  const writes: string[] = [];
  const syncWrites: string[] = [];
  return {
    writes,
    syncWrites,
    write: (chunk) => writes.push(chunk),
    writeSync: (chunk) => syncWrites.push(chunk),
  };
}

const line = (n: number, pad = 0): string => `{"n":${n}${" ".repeat(pad)}}\n`;

describe("LogLines", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("holds batched lines until maxDelayMs, then writes them in one write", () => {
    const sink = recordingSink();
    const lines = new LogLines(sink, { maxBytes: 4096, maxDelayMs: 100 });
    lines.batched.write(line(1));
    vi.advanceTimersByTime(60);
    lines.batched.write(line(2));
    vi.advanceTimersByTime(39);
    expect(sink.writes).toEqual([]);
    vi.advanceTimersByTime(1); // 100 ms after the first line, not the last
    expect(sink.writes).toEqual([line(1) + line(2)]);
    vi.advanceTimersByTime(1_000);
    expect(sink.writes).toHaveLength(1);
  });

  it("writes an immediate line at once, after the batched lines logged before it", () => {
    const sink = recordingSink();
    const lines = new LogLines(sink, { maxBytes: 4096, maxDelayMs: 100 });
    lines.batched.write(line(1));
    lines.batched.write(line(2));
    lines.immediate.write(line(3));
    expect(sink.writes.join("")).toBe(line(1) + line(2) + line(3));
    vi.advanceTimersByTime(1_000);
    expect(sink.writes.join("")).toBe(line(1) + line(2) + line(3)); // the timer went with the batch
    lines.immediate.write(line(4));
    expect(sink.writes.at(-1)).toBe(line(4));
  });

  it("never makes a write longer than maxBytes out of several lines", () => {
    const sink = recordingSink();
    const lines = new LogLines(sink, { maxBytes: 100, maxDelayMs: 100 });
    const logged = Array.from({ length: 20 }, (_, i) => line(i, 20 + (i % 7) * 5));
    for (const l of logged) lines.batched.write(l);
    vi.advanceTimersByTime(100);
    expect(sink.writes.join("")).toBe(logged.join(""));
    expect(sink.writes.length).toBeGreaterThan(5);
    for (const w of sink.writes) expect(Buffer.byteLength(w)).toBeLessThanOrEqual(100);
    // Every write ends at a line's end.
    for (const w of sink.writes) expect(w.endsWith("\n")).toBe(true);
  });

  it("counts bytes, not characters", () => {
    const sink = recordingSink();
    const lines = new LogLines(sink, { maxBytes: 64, maxDelayMs: 100 });
    const wide = `{"team":"${"é".repeat(20)}"}\n`; // 32 characters, 52 bytes
    lines.batched.write(wide);
    lines.batched.write(wide);
    expect(sink.writes).toEqual([wide]);
  });

  it("writes a line longer than maxBytes on its own", () => {
    const sink = recordingSink();
    const lines = new LogLines(sink, { maxBytes: 32, maxDelayMs: 100 });
    lines.batched.write(line(1));
    lines.batched.write(line(2, 100));
    expect(sink.writes).toEqual([line(1), line(2, 100)]);
    vi.advanceTimersByTime(100);
    expect(sink.writes).toHaveLength(2);
  });

  it("hands the pending batch to the sink synchronously on flushSync (exit)", () => {
    const sink = recordingSink();
    const lines = new LogLines(sink, { maxBytes: 4096, maxDelayMs: 100 });
    lines.batched.write(line(1));
    lines.flushSync();
    expect(sink.syncWrites).toEqual([line(1)]);
    vi.advanceTimersByTime(100);
    expect(sink.writes).toEqual([]);
  });

  it("keeps two pino loggers' lines in the order they were logged", () => {
    const sink = recordingSink();
    const lines = new LogLines(sink, { maxBytes: 4096, maxDelayMs: 100 });
    const access = pino({ base: null, timestamp: false }, lines.batched);
    const log = pino({ base: null, timestamp: false }, lines.immediate);
    access.info({ requestId: "a" }, "Served chat completion");
    access.info({ requestId: "b" }, "Served chat completion");
    log.info("Reloaded config");
    access.info({ requestId: "c" }, "Served chat completion");
    vi.advanceTimersByTime(100);
    const parsed = sink.writes
      .join("")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { requestId?: string; msg: string });
    expect(parsed.map((p) => p.requestId ?? p.msg)).toEqual(["a", "b", "Reloaded config", "c"]);
  });

  it("reports 0 dropped lines at once, so the counter it feeds exists before the first drop", () => {
    const lines = new LogLines(recordingSink(), { maxBytes: 4096, maxDelayMs: 100 });
    const reported: number[] = [];
    lines.onDropped((n) => reported.push(n));
    expect(reported).toEqual([0]);
  });

  it("counts the lines of what the sink dropped, reporting those before onDropped and every drop after", () => {
    const lines = new LogLines(recordingSink(), { maxBytes: 4096, maxDelayMs: 100 });
    lines.drop(line(1) + line(2));
    const reported: number[] = [];
    lines.onDropped((n) => reported.push(n));
    lines.drop(line(3));
    lines.drop("");
    lines.drop(line(4) + line(5) + line(6));
    expect(reported).toEqual([2, 1, 3]);
  });
});
