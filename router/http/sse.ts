/** Server-sent events to the client: the stream's headers, one `data:` event per chunk, the terminator. */
import type { ServerResponse } from "node:http";
import type { ChunkSink } from "../dispatch/relay.js";

/** Headers of a committed stream; the cost headers follow as trailers. */
export function startEventStream(res: ServerResponse): void {
  res.setHeader("content-type", "text/event-stream; charset=utf-8");
  res.setHeader("cache-control", "no-cache");
  res.setHeader("x-accel-buffering", "no");
  res.setHeader(
    "trailer",
    "x-routewise-cost-usd, x-routewise-baseline-cost-usd, x-routewise-feedback-token, x-routewise-continuation, x-routewise-budget-remaining-usd",
  );
  res.statusCode = 200;
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
