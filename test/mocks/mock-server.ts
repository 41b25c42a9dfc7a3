/**
 * The HTTP harness shared by the upstream mocks: real node:http on 127.0.0.1 (port 0), request recording,
 * connection tracking and fault injection. Provider-specific mocks supply the normal responses.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { isRecord } from "../../router/config/json.js";

/** Faults for one request. Unset fields mean normal behaviour. */
export interface MockFaults {
  /** Apply to this many requests (counted from setFaults), then behave normally. Default: every request. */
  times?: number;
  /** Respond with this HTTP status and a provider-shaped JSON error body. */
  status?: number;
  /** Raw body to send with `status` instead of the provider-shaped one. */
  errorBody?: string;
  /** `retry-after` header value sent with `status` (seconds or an HTTP-date). */
  retryAfter?: string;
  /** Wait this long before sending the response headers. */
  delayHeadersMs?: number;
  /** After the headers, wait this long before the first body byte. */
  firstByteDelayMs?: number;
  /** Destroy the socket before sending any headers. */
  resetBeforeHeaders?: boolean;
  /** Send 200 headers, then destroy the socket. */
  resetAfterHeaders?: boolean;
  /** Streaming: destroy the socket after this many SSE events. */
  cutAfterChunks?: number;
  /** Streaming: send the provider's in-stream error event after this many SSE events, then end. */
  errorEventAfterChunks?: number;
  /** The status the error event stands for (OpenAI: its numeric `code`; Anthropic: its error type). */
  errorEventStatus?: number;
  /** Non-streaming: answer 200 with a body that is not JSON. */
  malformedJson?: boolean;
  /** Streaming: send a `data:` line that is not JSON after the first event. */
  malformedSse?: boolean;
  /** Streaming: end the body cleanly without the terminator ([DONE] / message_stop). */
  omitTerminator?: boolean;
  /** Accept the request and never answer (until the client gives up or the mock closes). */
  hang?: boolean;
  /** Streaming: after this many SSE events stop sending, keeping the connection open (a stalled stream). */
  stallAfterChunks?: number;
  /** Streaming: after the first event (the role chunk / message_start), wait this long (a slow first token). */
  firstContentDelayMs?: number;
  /** Streaming: a malformed event (see ProviderResponder.malformedEvent) before each of these event indexes. */
  malformedEventsAt?: number[];
  /** Streaming: end after the content, without the finish event and without the terminator. */
  omitFinish?: boolean;
  /**
   * Streaming: after this many SSE events send only malformed events (every `garbageIntervalMs`, default 50) until
   * the client goes away: a connection that is alive but carries nothing usable.
   */
  garbageAfterChunks?: number;
  garbageIntervalMs?: number;
  /** Non-streaming: answer 200 with an error object as the body (an in-band error). */
  inBandError?: boolean;
  /** Non-streaming: answer 200 with a completion whose choice has no finish reason. */
  omitFinishReason?: boolean;
  /** Non-streaming: send the first half of the JSON body, then destroy the socket. */
  cutBody?: boolean;
  /** Echo the request's headers (the API key among them) in error bodies, error events and in-band errors. */
  echoHeaders?: boolean;
}

export type FaultSetting = MockFaults | ((requestNumber: number) => MockFaults | null) | null;

export interface RecordedRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, or the raw text when it is not JSON. */
  body: unknown;
  /** Which connection (1-based, in accept order) carried it: equal numbers mean keep-alive reuse. */
  connection: number;
  /** performance.now() when its body had arrived (orders requests across mocks in one process). */
  receivedAt: number;
}

export interface MockHandle {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** Faults for the following requests; a function gets the 1-based request number counted from this call. */
  setFaults(faults: FaultSetting): void;
  /** Sockets accepted so far and sockets open now. */
  connections(): { opened: number; open: number };
  close(): Promise<void>;
}

export interface MockBehaviour {
  /** Content chunks in a streamed reply. Default 5. */
  chunks?: number;
  /** Pause between streamed events, ms. Default 0. */
  chunkIntervalMs?: number;
  /** The reply text for a prompt. Default: "Mock reply to: <prompt>". */
  reply?: (prompt: string) => string;
  /** Cached prompt tokens reported in usage. Default 0. */
  cachedTokens?: number;
  /**
   * Whether a trailing assistant message is continued (assistant prefill) instead of answered anew. The Anthropic
   * mock always continues one (as Anthropic does); the OpenAI mock only with this set.
   */
  prefill?: boolean;
  /** When continuing a prefill, repeat its last this many characters first (an overlap to deduplicate). */
  prefillOverlapChars?: number;
  /** Start every reply with `[<requested model>] `, so a judge can tell who wrote an answer. */
  tagModel?: boolean;
  /** Serve HTTPS with this key and certificate (PEM) instead of HTTP. */
  tls?: { key: string; cert: string };
}

/** What a provider mock answers when there is no fault. */
export interface ProviderResponder {
  /** Whether the path is served (404 otherwise). */
  serves(path: string): boolean;
  /**
   * `path` (the request's, with its query) tells one API from another where a mock serves several (chat,
   * embeddings, responses); absent, the mock's main API.
   */
  complete(body: unknown, path?: string): unknown;
  /**
   * SSE frames (each ending in a blank line): the content (role and deltas), the finish (finish reason, usage) and
   * the terminator.
   */
  streamFrames(body: unknown, path?: string): { frames: string[]; finish: string[]; terminator: string[] };
  /** A provider-shaped JSON error body; `detail` (e.g. echoed headers) goes into its message. */
  errorBody(status: number, detail?: string): string;
  /** The provider's in-stream error event (standing for `status` when given). */
  errorEvent(detail?: string, status?: number, path?: string): string;
  /** The `index`-th kind of malformed event (cycling): not JSON, JSON of the wrong shape. */
  malformedEvent(index: number, path?: string): string;
  /** An error response the upstream gives a request it refuses (before any fault), or null. */
  refusal(body: unknown): { status: number; body: string } | null;
  /** A completion without a finish reason (a truncated answer). */
  unfinished(body: unknown, path?: string): unknown;
  isStream(body: unknown): boolean;
}

export async function startMockServer(responder: ProviderResponder, behaviour: MockBehaviour): Promise<MockHandle> {
  const requests: RecordedRequest[] = [];
  const sockets = new Map<Socket, number>();
  let opened = 0;
  let setting: FaultSetting = null;
  let sinceSet = 0;

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    sinceSet++;
    const number = sinceSet;
    const faults = faultsFor(setting, number);
    handle(req, res, sockets.get(req.socket) ?? 0).catch((err: unknown) => {
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    });

    async function handle(request: IncomingMessage, response: ServerResponse, connection: number): Promise<void> {
      const text = await readBody(request);
      const body = parseJson(text);
      requests.push({
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body,
        connection,
        receivedAt: performance.now(),
      });
      await respond(responder, behaviour, faults, { req: request, res: response, body });
    }
  };
  const server = behaviour.tls
    ? createHttpsServer({ keepAliveTimeout: 10_000, ...behaviour.tls }, onRequest)
    : createServer({ keepAliveTimeout: 10_000 }, onRequest);
  // Over TLS, requests arrive on the TLS socket, which "secureConnection" hands out.
  server.on(behaviour.tls ? "secureConnection" : "connection", (socket: Socket) => {
    opened++;
    sockets.set(socket, opened);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${behaviour.tls ? "https" : "http"}://127.0.0.1:${port}`,
    port,
    requests,
    setFaults(faults) {
      setting = faults;
      sinceSet = 0;
    },
    connections: () => ({ opened, open: sockets.size }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => {
          if (err) reject(err);
          else resolve();
        });
        server.closeAllConnections();
      }),
  };
}

function faultsFor(setting: FaultSetting, number: number): MockFaults {
  if (setting === null) return {};
  if (typeof setting === "function") return setting(number) ?? {};
  if (setting.times !== undefined && number > setting.times) return {};
  return setting;
}

async function readBody(req: IncomingMessage): Promise<string> {
  req.setEncoding("utf8");
  let text = "";
  for await (const chunk of req as AsyncIterable<string>) text += chunk;
  return text;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text; // Recorded as-is so a test can see what arrived.
  }
}

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  body: unknown;
}

async function respond(r: ProviderResponder, b: MockBehaviour, f: MockFaults, x: Exchange): Promise<void> {
  if (f.hang === true) {
    await closed(x.res);
    return;
  }
  if (f.delayHeadersMs !== undefined) await pause(f.delayHeadersMs, x.res);
  if (f.resetBeforeHeaders === true) {
    x.req.socket.destroy();
    return;
  }
  if (!r.serves(x.req.url ?? "")) {
    sendJson(x.res, 404, r.errorBody(404), {});
    return;
  }
  const refused = r.refusal(x.body);
  if (refused !== null) {
    sendJson(x.res, refused.status, refused.body, {});
    return;
  }
  const detail = f.echoHeaders === true ? `request headers: ${JSON.stringify(x.req.headers)}` : undefined;
  if (f.status !== undefined) {
    const headers: Record<string, string> = f.retryAfter === undefined ? {} : { "retry-after": f.retryAfter };
    sendJson(x.res, f.status, f.errorBody ?? r.errorBody(f.status, detail), headers);
    return;
  }
  const stream = r.isStream(x.body);
  x.res.writeHead(200, { "content-type": stream ? "text/event-stream" : "application/json" });
  x.res.flushHeaders();
  if (f.resetAfterHeaders === true) {
    await sleep(5); // let the headers leave before the reset
    x.req.socket.destroy();
    return;
  }
  if (f.firstByteDelayMs !== undefined) await pause(f.firstByteDelayMs, x.res);
  if (stream) await writeStream(r, b, f, x, detail);
  else await writeCompletion(r, f, x, detail);
}

async function writeCompletion(r: ProviderResponder, f: MockFaults, x: Exchange, detail?: string): Promise<void> {
  if (f.malformedJson === true) {
    x.res.end('{"id": "chatcmpl-broken", "choices": [');
    return;
  }
  if (f.inBandError === true) {
    x.res.end(r.errorBody(500, detail));
    return;
  }
  const path = x.req.url ?? "";
  const text = JSON.stringify(f.omitFinishReason === true ? r.unfinished(x.body, path) : r.complete(x.body, path));
  if (f.cutBody === true) {
    await new Promise<void>((resolve) => x.res.write(text.slice(0, Math.floor(text.length / 2)), () => resolve()));
    await sleep(5);
    x.req.socket.destroy();
    return;
  }
  x.res.end(text);
}

function sendJson(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(body);
}

/** Resolves when the response is over: sent, or its connection closed. */
function closed(res: ServerResponse): Promise<void> {
  if (res.destroyed || res.writableFinished) return Promise.resolve();
  return new Promise((resolve) => res.once("close", () => resolve()));
}

/** Whether the response can take no more writes (read through a call: the loop above writes meanwhile). */
function ended(res: ServerResponse): boolean {
  return res.destroyed || res.writableEnded;
}

/** Waits `ms`, or less when the client goes away first. */
async function pause(ms: number, res: ServerResponse): Promise<void> {
  const controller = new AbortController();
  await Promise.race([sleep(ms, undefined, { signal: controller.signal }).catch(() => undefined), closed(res)]);
  controller.abort();
}

function streamPlan(r: ProviderResponder, f: MockFaults, body: unknown, path: string): string[] {
  const { frames, finish, terminator } = r.streamFrames(body, path);
  if (f.omitFinish === true) return frames;
  return f.omitTerminator === true ? [...frames, ...finish] : [...frames, ...finish, ...terminator];
}

async function writeStream(
  r: ProviderResponder,
  b: MockBehaviour,
  f: MockFaults,
  x: Exchange,
  detail?: string,
): Promise<void> {
  const path = x.req.url ?? "";
  const all = streamPlan(r, f, x.body, path);
  let flushed: Promise<void> = Promise.resolve();
  let malformed = 0;
  for (let i = 0; i < all.length; i++) {
    if (x.res.destroyed) return;
    if (f.cutAfterChunks === i) {
      await flushed; // the events before the cut reach the client, then the connection dies
      x.req.socket.destroy();
      return;
    }
    if (f.stallAfterChunks === i) {
      await closed(x.res);
      return;
    }
    if (f.garbageAfterChunks === i) {
      while (!ended(x.res)) {
        x.res.write(r.malformedEvent(malformed++));
        await pause(f.garbageIntervalMs ?? 50, x.res);
      }
      return;
    }
    if (f.errorEventAfterChunks === i) {
      x.res.end(r.errorEvent(detail, f.errorEventStatus, path));
      return;
    }
    if (f.malformedSse === true && i === 1) x.res.write("data: {this is not json\n\n");
    if (f.malformedEventsAt?.includes(i) === true) x.res.write(r.malformedEvent(malformed++, path));
    if (f.firstContentDelayMs !== undefined && i === 1) await pause(f.firstContentDelayMs, x.res);
    flushed = new Promise((resolve) => {
      x.res.write(all[i], () => {
        resolve();
      });
    });
    if (b.chunkIntervalMs !== undefined && b.chunkIntervalMs > 0) await pause(b.chunkIntervalMs, x.res);
  }
  x.res.end();
}

// Shared by both provider mocks ---------------------------------------------------------------------------------

export function defaultReply(prompt: string): string {
  return `Mock reply to: ${prompt.length > 60 ? prompt.slice(0, 60) : prompt}`;
}

export function tokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** Splits text into `n` nearly equal non-empty pieces (fewer when the text is shorter). */
export function split(text: string, n: number): string[] {
  const pieces: string[] = [];
  const size = Math.max(1, Math.ceil(text.length / Math.max(1, n)));
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces;
}

/** Text of an OpenAI or Anthropic content value (string or parts/blocks with `text`). */
export function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part) => (isRecord(part) && typeof part["text"] === "string" ? part["text"] : ""))
    .filter((t) => t.length > 0)
    .join(" ");
}

/** Whether the mock should answer with a tool call: tools given and the prompt mentions "tool" or forces one. */
export function wantsTool(tools: unknown, prompt: string, forced: boolean): boolean {
  return Array.isArray(tools) && tools.length > 0 && (forced || prompt.toLowerCase().includes("tool"));
}

/**
 * What a model continuing an assistant prefill says: the rest of the full reply after the prefill (the whole reply
 * when it does not start with the prefill), repeating the prefill's last `overlap` characters first.
 */
export function continuation(full: string, prefill: string, overlap: number): string {
  if (!full.startsWith(prefill)) return full;
  return full.slice(Math.max(0, prefill.length - overlap));
}

/** The last message when it is an assistant message (a prefill to continue), else null. */
export function trailingAssistant(messages: unknown[]): string | null {
  const last: unknown = messages[messages.length - 1];
  return isRecord(last) && last["role"] === "assistant" ? textOf(last["content"]) : null;
}

/** Malformed SSE events, by kind: not JSON, a JSON array, a JSON string, an object of no known shape. */
export const MALFORMED_EVENTS = [
  "data: {this is not json\n\n",
  "data: [1, 2, 3]\n\n",
  'data: "just a string"\n\n',
  'data: {"unexpected": true}\n\n',
];

export function sse(data: unknown, event?: string): string {
  const line = `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
  return event === undefined ? line : `event: ${event}\n${line}`;
}
