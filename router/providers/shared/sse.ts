/**
 * Incremental Server-Sent Events parser (WHATWG HTML §9.2.6): `event:` and `data:` fields, comments, LF / CRLF /
 * CR line endings, multi-line data. No regular expressions: it scans with indexOf.
 */

export interface SseEvent {
  /** The `event:` field, or "" when absent (the spec's "message"). */
  event: string;
  data: string;
}

const LF = 10;
const CR = 13;

export class SseParser {
  private buffer = "";
  private event = "";
  private data = "";
  private hasData = false;

  /** Characters held for the event being read (its unfinished line and data so far). */
  get pending(): number {
    return this.buffer.length + this.data.length;
  }

  /** Feeds decoded text and appends every completed event to `out`. */
  // eslint-disable-next-line complexity -- the SSE line splitter, kept in one loop: it runs on every upstream chunk (ADR 5)
  feed(text: string, out: SseEvent[]): void {
    const buf = this.buffer.length === 0 ? text : this.buffer + text;
    let start = 0;
    let cr = buf.indexOf("\r");
    for (;;) {
      // CR is rare (OpenAI and Anthropic send LF): search for it again only once we passed the last one.
      if (cr >= 0 && cr < start) cr = buf.indexOf("\r", start);
      const end = lineEnd(buf, start, cr);
      if (end < 0) break;
      const c = buf.charCodeAt(end);
      // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
      if (c === CR && end === buf.length - 1) break;
      this.line(buf.slice(start, end), out);
      start = c === CR && buf.charCodeAt(end + 1) === LF ? end + 2 : end + 1;
    }
    this.buffer = start === 0 ? buf : buf.slice(start);
  }

  /** Flushes a final line without a terminator; an event without its blank line is discarded, per the spec. */
  end(out: SseEvent[]): void {
    if (this.buffer.length > 0) {
      const rest = this.buffer.charCodeAt(this.buffer.length - 1) === CR ? this.buffer.slice(0, -1) : this.buffer;
      this.buffer = "";
      this.line(rest, out);
    }
    this.reset();
  }

  private line(line: string, out: SseEvent[]): void {
    if (line.length === 0) {
      if (this.hasData) out.push({ event: this.event, data: this.data });
      this.reset();
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ":" comment
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "data") {
      this.data = this.hasData ? this.data + "\n" + value : value;
      this.hasData = true;
    } else if (field === "event") {
      this.event = value;
    }
  }

  private reset(): void {
    this.event = "";
    this.data = "";
    this.hasData = false;
  }
}

function lineEnd(buf: string, from: number, cr: number): number {
  const lf = buf.indexOf("\n", from);
  if (cr < 0) return lf;
  if (lf < 0) return cr;
  return cr < lf ? cr : lf;
}
