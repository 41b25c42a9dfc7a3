/**
 * Relays one committed stream to the client, chunk by chunk, and ends its attempt with the outcome. The usage
 * chunk is held back (the caller sends it, with cost, at the end if the client asked for it).
 */
import type { ChatCompletionChunk, Usage } from "../openai/types.js";
import { UpstreamError } from "../providers/types.js";
import type { OpenStream } from "./stream.js";

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
  /** The first chunk's id. */
  id: string;
  /** Whether anything but choice 0's text was relayed (tool calls, other choices, a refusal). */
  structured: boolean;
  /** The upstream failed mid-stream. */
  error: UpstreamError | null;
  clientGone: boolean;
}

/** `request`: the request's lifetime (whether it ended, the client gone, when the stream failed). */
export async function relayStream(
  stream: OpenStream,
  sink: ChunkSink,
  request: { readonly aborted: boolean },
): Promise<RelayResult> {
  const out: RelayResult = {
    usage: null,
    usageChunk: null,
    chars: 0,
    id: stream.head[0]?.id ?? "",
    structured: false,
    error: null,
    clientGone: false,
  };
  try {
    for (const chunk of stream.head) forward(out, sink, chunk);
    for (let next = await stream.rest.next(); next.done !== true; next = await stream.rest.next())
      forward(out, sink, next.value);
  } catch (err) {
    failed(out, err, request, sink);
  } finally {
    await finish(stream, out, sink);
  }
  return out;
}

/** The stream failed: the client went away (its request ended), or the upstream did. */
function failed(out: RelayResult, err: unknown, request: { readonly aborted: boolean }, sink: ChunkSink): void {
  if (request.aborted && sink.gone()) out.clientGone = true;
  else
    out.error =
      err instanceof UpstreamError ? err : new UpstreamError("reset", String(err), null, null, { cause: err });
}

/** Ends the attempt with its outcome; stops reading the upstream when the client is gone. */
async function finish(stream: OpenStream, out: RelayResult, sink: ChunkSink): Promise<void> {
  out.clientGone ||= sink.gone();
  const outcome = out.error ? "stream_error" : out.clientGone ? "client_closed" : "success";
  stream.end(outcome, out.error);
  if (out.clientGone) await stream.rest.return?.().catch(() => undefined);
}

/** Writes one chunk, holding its usage back. */
function forward(out: RelayResult, sink: ChunkSink, chunk: ChatCompletionChunk): void {
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
  for (const choice of chunk.choices) {
    const { chars, structured } = measure(choice as Choice);
    out.chars += chars;
    out.structured ||= structured;
  }
  sink.write(chunk);
}

interface Choice {
  index?: unknown;
  delta?: { content?: unknown; tool_calls?: unknown; refusal?: unknown; function_call?: unknown };
}

/** Output characters of one choice, and whether it is anything but choice 0's text. */
function measure(c: Choice): { chars: number; structured: boolean } {
  const d = c.delta ?? {};
  const text = typeof d.content === "string" ? d.content.length : 0;
  const tools = d.tool_calls === undefined ? 0 : JSON.stringify(d.tool_calls).length;
  const refusal = typeof d.refusal === "string" && d.refusal.length > 0;
  const structured = (c.index ?? 0) !== 0 || tools > 0 || d.function_call !== undefined || refusal;
  return { chars: text + tools, structured };
}
