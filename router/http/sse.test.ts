import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startEventStream, writeDone, writeEvent } from "./sse.js";

let server: Server | null = null;

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = null;
});

/** A server whose one handler is `handle`; resolves with its URL. */
async function serve(handle: (res: ServerResponse) => void): Promise<string> {
  server = createServer((_req, res) => handle(res));
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("event streams", () => {
  it("sends the headers with the first event at once, not after the rest of the turn's events", async () => {
    const buffered: number[] = [];
    const url = await serve((res) => {
      startEventStream(res);
      buffered.push(res.socket?.writableLength ?? -1); // headers held for the first event
      writeEvent(res, { n: 1 });
      // Handed to the kernel while this turn still runs (a relay writing a burst of chunks it already holds).
      buffered.push(res.socket?.writableLength ?? -1);
      writeEvent(res, { n: 2 });
      writeDone(res);
      res.end();
    });
    const res = await fetch(url);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(await res.text()).toBe('data: {"n":1}\n\ndata: {"n":2}\n\ndata: [DONE]\n\n');
    expect(buffered[0]).toBeGreaterThan(0);
    expect(buffered[1]).toBe(0);
  });

  it("sends the headers alone on the next tick when no event is written in the same turn", async () => {
    let later = (): void => undefined;
    const url = await serve((res) => {
      startEventStream(res);
      later = () => {
        writeEvent(res, { n: 1 });
        res.end();
      };
    });
    const res = await fetch(url); // resolves on the headers, before any event is written
    expect(res.status).toBe(200);
    later();
    expect(await res.text()).toBe('data: {"n":1}\n\n');
  });
});
