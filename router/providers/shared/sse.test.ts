import { describe, expect, it } from "vitest";
import { SseParser, type SseEvent } from "./sse.js";

function parse(...pieces: string[]): SseEvent[] {
  const parser = new SseParser();
  const out: SseEvent[] = [];
  for (const piece of pieces) parser.feed(piece, out);
  parser.end(out);
  return out;
}

describe("SseParser", () => {
  it("emits one event per blank-line-terminated block when data lines use LF", () => {
    expect(parse('data: {"a":1}\n\ndata: [DONE]\n\n')).toEqual([
      { event: "", data: '{"a":1}' },
      { event: "", data: "[DONE]" },
    ]);
  });

  it("reassembles an event when it is split across chunks at any byte", () => {
    const text = 'event: message_start\ndata: {"x":"héllo"}\n\n';
    for (let cut = 1; cut < text.length; cut++) {
      expect(parse(text.slice(0, cut), text.slice(cut))).toEqual([{ event: "message_start", data: '{"x":"héllo"}' }]);
    }
  });

  it("handles CRLF and lone CR line endings when a CRLF is split between chunks", () => {
    expect(parse("data: a\r", "\n\r\ndata: b\r\r")).toEqual([
      { event: "", data: "a" },
      { event: "", data: "b" },
    ]);
  });

  it("joins multi-line data and skips comments when both appear", () => {
    expect(parse(": keep-alive\ndata: one\ndata:two\n\n")).toEqual([{ event: "", data: "one\ntwo" }]);
  });

  it("drops a trailing event when the stream ends without its blank line", () => {
    expect(parse("data: complete\n\ndata: partial")).toEqual([{ event: "", data: "complete" }]);
  });

  it("ignores an event block when it has no data field", () => {
    expect(parse("event: ping\n\n")).toEqual([]);
  });
});
