/** Server-sent events to the client: the stream's headers, one `data:` event per chunk, the terminator. */
import type { ServerResponse } from "node:http";
import type { ChunkSink } from "../dispatch/relay.js";

/**
 * Headers of a committed stream; the cost headers follow as trailers. They are flushed now, but into a corked
 * socket that is uncorked on the next tick: the events written in this same turn (the relay writes the chunks it
 * holds, the first content chunk among them, right after) leave with the headers in one write, so the client's
 * first byte of content does not wait behind a headers-only packet (issue 18: streaming time to first byte).
 */
export function startEventStream(res: ServerResponse): void {
  res.setHeader("content-type", "text/event-stream; charset=utf-8");
  res.setHeader("cache-control", "no-cache");
  res.setHeader("x-accel-buffering", "no");
  res.setHeader(
    "trailer",
    "x-routewise-cost-usd, x-routewise-baseline-cost-usd, x-routewise-feedback-token, x-routewise-continuation, x-routewise-budget-remaining-usd",
  );
  res.statusCode = 200;
  const socket = res.socket;
  if (socket && !socket.writableCorked) {
    socket.cork();
    process.nextTick(() => socket.uncork());
  }
  res.flushHeaders();
}

export function writeEvent(res: ServerResponse, data: unknown): void {
  if (!res.destroyed) res.write(`data: ${JSON.stringify(data)}\n\n`);
}

export function writeDone(res: ServerResponse): void {
  res.write("data: [DONE]\n\n");
}

/** The client response as the relay's sink. */
export function eventSink(res: ServerResponse): ChunkSink {
  return {
    write: (chunk) => {
      writeEvent(res, chunk);
    },
    gone: () => res.destroyed,
  };
}

/** An event with its name (`event:` line), as the Responses API streams them. */
export function writeNamedEvent(res: ServerResponse, name: string, data: unknown): void {
  if (!res.destroyed) res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** An upstream's event relayed as it came: its name and its `data:` text (one `data:` line per line of it). */
export function writeRawEvent(res: ServerResponse, name: string, data: string): void {
  if (res.destroyed) return;
  const lines = data.includes("\n") ? data.split("\n").join("\ndata: ") : data;
  res.write(`event: ${name}\ndata: ${lines}\n\n`);
}
