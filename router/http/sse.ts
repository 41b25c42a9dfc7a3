/** Server-sent events to the client: the stream's headers, one `data:` event per chunk, the terminator. */
import type { ServerResponse } from "node:http";
import type { ChunkSink } from "../dispatch/relay.js";

/** Responses whose headers wait in a corked socket for the stream's first event (startEventStream). */
const heldForFirstEvent = new WeakSet<ServerResponse>();

/**
 * Headers of a committed stream; the cost headers follow as trailers. They are flushed now, but into a corked
 * socket that the first event uncorks: headers and first event leave in one write, so the client's first byte of
 * content does not wait behind a headers-only packet — and it does not wait for the rest either (issue 18,
 * streaming time to first byte): uncorked on the next tick, as before, the first event waited until the relay had
 * written every chunk it already held, a whole burst when the upstream sent one. If nothing is written this turn
 * (the upstream has not sent more yet), the next tick sends the headers alone.
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
    heldForFirstEvent.add(res);
    process.nextTick(() => release(res));
  }
  res.flushHeaders();
}

/** Sends the headers held for the first event (once; later writes are node's to batch). */
function release(res: ServerResponse): void {
  if (heldForFirstEvent.delete(res)) res.socket?.uncork();
}

/** Writes event text to the stream (nothing once the client is gone); the first write sends the held headers. */
export function writeEventText(res: ServerResponse, text: string): void {
  if (res.destroyed) return;
  res.write(text);
  release(res);
}

export function writeEvent(res: ServerResponse, data: unknown): void {
  writeEventText(res, `data: ${JSON.stringify(data)}\n\n`);
}

export function writeDone(res: ServerResponse): void {
  writeEventText(res, "data: [DONE]\n\n");
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
  writeEventText(res, `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** An upstream's event relayed as it came: its name and its `data:` text (one `data:` line per line of it). */
export function writeRawEvent(res: ServerResponse, name: string, data: string): void {
  const lines = data.includes("\n") ? data.split("\n").join("\ndata: ") : data;
  writeEventText(res, `event: ${name}\ndata: ${lines}\n\n`);
}
