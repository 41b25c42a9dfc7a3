/**
 * Relays a committed stream to the client, chunk by chunk, and ends its attempt with the outcome. The usage
 * chunk is held back (the caller sends it, with cost, at the end if the client asked for it).
 */
import type { ChatCompletionChunk, Usage } from "../openai/types.js";
import { UpstreamError } from "../providers/types.js";
import type { OpenStream } from "./dispatch.js";

/** Where relayed chunks go (the client's SSE response). */
export interface ChunkSink {
  write(chunk: ChatCompletionChunk): void;
  /** True once the client has gone away. */
  gone(): boolean;
}

export interface RelayResult {
  usage: Usage | null;
  usageChunk: ChatCompletionChunk | null;
  /** Characters of content and tool calls relayed (for the token estimate when the upstream sends no usage). */
  chars: number;
  /** The upstream failed mid-stream. */
  error: UpstreamError | null;
  clientGone: boolean;
}

export async function relayStream(stream: OpenStream, sink: ChunkSink, signal: AbortSignal): Promise<RelayResult> {
  const out: RelayResult = { usage: null, usageChunk: null, chars: 0, error: null, clientGone: false };
  const forward = (chunk: ChatCompletionChunk): void => {
    if (chunk.usage) {
      out.usage = chunk.usage;
      if (chunk.choices.length === 0) {
        out.usageChunk = chunk;
        return;
      }
      out.usageChunk = { ...chunk, choices: [] };
      chunk = { ...chunk };
      delete chunk.usage;
    }
    out.chars += chunkChars(chunk);
    sink.write(chunk);
  };
  try {
    forward(stream.first);
    for (;;) {
      const next = await stream.rest.next();
      if (next.done === true) break;
      forward(next.value);
    }
  } catch (err) {
    if (signal.aborted && sink.gone()) out.clientGone = true;
    else
      out.error =
        err instanceof UpstreamError ? err : new UpstreamError("reset", String(err), null, null, { cause: err });
  } finally {
    stream.end(out.error ? "stream_error" : "success");
    if (sink.gone()) {
      out.clientGone = true;
      await stream.rest.return?.().catch(() => undefined);
    }
  }
  return out;
}

function chunkChars(chunk: ChatCompletionChunk): number {
  let n = 0;
  for (const choice of chunk.choices) {
    const delta = (choice as { delta?: { content?: unknown; tool_calls?: unknown } }).delta;
    if (typeof delta?.content === "string") n += delta.content.length;
    if (delta?.tool_calls !== undefined) n += JSON.stringify(delta.tool_calls).length;
  }
  return n;
}
