import { execFileSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FdSink } from "./fd-sink.js";

const opened: number[] = [];
afterEach(() => {
  for (const fd of opened.splice(0)) closeSync(fd);
});

/** A real pipe: a FIFO opened at both ends, non-blocking, like a container runtime's stdout pipe. */
function pipe(): { read: number; write: number } {
  const path = join(mkdtempSync(join(tmpdir(), "routewise-fd-sink-")), "fifo");
  execFileSync("mkfifo", [path]);
  const read = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const write = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  opened.push(read, write);
  return { read, write };
}

/** Everything the pipe holds now. */
function drain(fd: number): string {
  const buf = Buffer.alloc(1 << 16);
  let out = "";
  for (;;) {
    try {
      const n = readSync(fd, buf);
      if (n === 0) return out;
      out += buf.toString("utf8", 0, n);
    } catch {
      return out; // EAGAIN: empty
    }
  }
}

function sink(fd: number, o: { maxQueuedBytes?: number; exitFlushMs?: number } = {}) {
  const dropped: string[] = [];
  const s = new FdSink({
    fd,
    maxWrite: 4096,
    maxQueuedBytes: o.maxQueuedBytes ?? 1 << 20,
    exitFlushMs: o.exitFlushMs ?? 50,
    onDrop: (chunk) => dropped.push(chunk),
  });
  return { s, dropped };
}

const line = (n: number): string => `{"n":${n},"pad":"${"x".repeat(180)}"}\n`;
const lines = (from: number, count: number): string => Array.from({ length: count }, (_, i) => line(from + i)).join("");

/** Resolves once the pipe has taken `text` (the sink writes asynchronously). */
async function readUntil(fd: number, length: number): Promise<string> {
  let out = "";
  for (let i = 0; i < 500 && out.length < length; i++) {
    out += drain(fd);
    if (out.length < length) await new Promise((r) => setTimeout(r, 10));
  }
  return out;
}

/** Fills the pipe with whole lines until it takes no more; what it wrote. */
function fill(fd: number): string {
  let written = "";
  for (let n = 0; ; n++) {
    const chunk = lines(1_000_000 + n * 10, 10);
    try {
      if (writeSync(fd, chunk) !== chunk.length) throw new Error("a partial write of a chunk under PIPE_BUF");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EAGAIN") return written;
      throw err;
    }
    written += chunk;
  }
}

/** Waits until no write is in flight. */
async function settled(s: FdSink): Promise<void> {
  for (let i = 0; i < 1000 && s.busy; i++) await new Promise((r) => setTimeout(r, 5));
}

describe("FdSink", () => {
  it("writes chunks in order, each write whole chunks of at most maxWrite bytes", async () => {
    const p = pipe();
    const { s, dropped } = sink(p.write);
    const chunks = Array.from({ length: 50 }, (_, i) => lines(i * 10, 10));
    for (const c of chunks) s.write(c);
    const got = await readUntil(p.read, chunks.join("").length);
    expect(got).toBe(chunks.join(""));
    expect(dropped).toEqual([]);
  });

  it("keeps at most maxQueuedBytes while nobody reads, reports the rest as dropped, and catches up once read", async () => {
    const p = pipe();
    const { s, dropped } = sink(p.write, { maxQueuedBytes: 64 * 1024 });
    // The pipe takes 64 KiB, the queue 64 KiB more; 2,000 lines of ~200 bytes are ~400 KiB.
    const all = Array.from({ length: 200 }, (_, i) => lines(i * 10, 10));
    for (const c of all) s.write(c);
    expect(dropped.length).toBeGreaterThan(0);
    const droppedText = dropped.join("");
    const wanted = all.join("").length - droppedText.length;
    const got = await readUntil(p.read, wanted);
    // Every line is either written (whole, in order) or reported dropped, none twice.
    expect(got.length + droppedText.length).toBe(all.join("").length);
    const written = got.split("\n").filter((l) => l !== "");
    const ns = written.map((l) => (JSON.parse(l) as { n: number }).n);
    expect(ns).toEqual([...ns].sort((a, b) => a - b));
    expect(ns[0]).toBe(0);
    // Once read, new lines are written again.
    s.write(line(99_999));
    expect(await readUntil(p.read, line(99_999).length)).toBe(line(99_999));
  });

  it("gives up the exit flush after exitFlushMs when the pipe stays full, reporting what is left", async () => {
    const p = pipe();
    const { s, dropped } = sink(p.write, { exitFlushMs: 100 });
    const prefill = fill(p.write);
    const ours = Array.from({ length: 20 }, (_, i) => lines(i * 10, 10));
    for (const c of ours) s.write(c);
    await settled(s); // the first write met the full pipe (EAGAIN) and waits to retry
    s.writeSync(line(999));
    expect(dropped.join("")).toBe(ours.join("") + line(999));
    expect(drain(p.read)).toBe(prefill);
  });

  it("writes everything at exit when the pipe has room, what waited to retry first", async () => {
    const p = pipe();
    const { s, dropped } = sink(p.write);
    s.write(line(1));
    s.write(line(2));
    await settled(s);
    const prefill = fill(p.write);
    s.write(line(3));
    s.write(line(4));
    await settled(s); // line 3 met the full pipe and waits to retry
    expect(drain(p.read)).toBe(line(1) + line(2) + prefill);
    s.writeSync(line(5));
    expect(drain(p.read)).toBe(line(3) + line(4) + line(5));
    expect(dropped).toEqual([]);
  });

  it("stops writing once the reader has gone (EPIPE), reporting every later line as dropped, and never throws", async () => {
    const p = pipe();
    const { s, dropped } = sink(p.write);
    closeSync(p.read);
    opened.splice(opened.indexOf(p.read), 1);
    s.write(line(1));
    await settled(s); // EPIPE
    s.write(line(2));
    expect(() => {
      s.writeSync(line(3));
    }).not.toThrow();
    expect(dropped.join("")).toBe(line(1) + line(2) + line(3));
  });

  it("appends to a file", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "routewise-fd-sink-")), "requests.jsonl");
    const fd = openSync(path, "a");
    opened.push(fd);
    const { s } = sink(fd);
    s.write(lines(0, 30));
    s.write(lines(30, 30));
    for (let i = 0; i < 100 && readFileSync(path, "utf8").length < lines(0, 60).length; i++)
      await new Promise((r) => setTimeout(r, 10));
    s.writeSync(line(60));
    expect(readFileSync(path, "utf8")).toBe(lines(0, 61));
  });
});
