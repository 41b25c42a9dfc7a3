/** Reads an upstream SSE body as events, mapping transport errors and releasing the socket on early exit. */
import { StringDecoder } from "node:string_decoder";
import type { CallSignal } from "./call-signal.js";
import type { Response } from "./http.js";
import { malformed, toUpstreamError } from "./errors.js";
import { SseParser, type SseEvent } from "./sse.js";

/** Longest SSE event (or line) read: an upstream that never ends its line would otherwise fill memory. */
const MAX_EVENT_CHARS = 8 * 1024 * 1024;

/**
 * Yields the body's SSE events. Throws UpstreamError ("reset", "timeout", "aborted") when the body fails; when the
 * consumer stops early (return()) the body is destroyed, which closes that socket instead of leaking it.
 */
export async function* sseEvents(res: Response, signal: CallSignal, providerId: string): AsyncGenerator<SseEvent> {
  const body = res.body;
  const parser = new SseParser();
  const batch: SseEvent[] = [];
  const decoder = new StringDecoder("utf8"); // keeps multi-byte characters split across chunks intact
  try {
    for await (const bytes of body as AsyncIterable<Buffer>) {
      parser.feed(decoder.write(bytes), batch);
      if (parser.pending > MAX_EVENT_CHARS)
        throw malformed(providerId, `an SSE event over ${MAX_EVENT_CHARS} characters`);
      for (const event of batch) yield event;
      batch.length = 0;
    }
    parser.feed(decoder.end(), batch);
    parser.end(batch);
    for (const event of batch) yield event;
  } catch (err) {
    throw toUpstreamError(err, signal, providerId);
  } finally {
    if (!body.destroyed) body.destroy();
  }
}

/** JSON.parse for one event's data; undefined when it is not JSON (a malformed event, skipped by the caller). */
export function parseEvent(data: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Wraps a generator that reads `res` so that return() frees the socket even when it comes before the first
 * next() (a generator that never started does not run its finally blocks).
 */
export function releasing<T>(source: AsyncGenerator<T>, res: Response): AsyncIterableIterator<T> {
  const release = (): void => {
    if (!res.body.destroyed) res.body.destroy();
  };
  const iterator: AsyncIterableIterator<T> = {
    next: () => source.next(),
    async return(value?: unknown): Promise<IteratorResult<T>> {
      try {
        await source.return(undefined);
      } finally {
        release();
      }
      return { done: true, value: value as T };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
