/**
 * The HTTP harness shared by the upstream mocks: real node:http on 127.0.0.1 (port 0), request recording,
 * connection tracking and fault injection. Provider-specific mocks supply the normal responses.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
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
  /** Non-streaming: answer 200 with a body that is not JSON. */
  malformedJson?: boolean;
  /** Streaming: send a `data:` line that is not JSON after the first event. */
  malformedSse?: boolean;
  /** Streaming: end the body cleanly without the terminator ([DONE] / message_stop). */
  omitTerminator?: boolean;
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
}

/** What a provider mock answers when there is no fault. */
export interface ProviderResponder {
  /** Whether the path is served (404 otherwise). */
  serves(path: string): boolean;
  complete(body: unknown): unknown;
  /** SSE frames (each ending in a blank line), without the terminator frames. */
  streamFrames(body: unknown): { frames: string[]; terminator: string[] };
  errorBody(status: number): string;
  errorEvent(): string;
  isStream(body: unknown): boolean;
}

export async function startMockServer(responder: ProviderResponder, behaviour: MockBehaviour): Promise<MockHandle> {
  const requests: RecordedRequest[] = [];
  const sockets = new Map<Socket, number>();
  let opened = 0;
  let setting: FaultSetting = null;
  let sinceSet = 0;

  const server = createServer({ keepAliveTimeout: 10_000 }, (req, res) => {
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
      });
      await respond(responder, behaviour, faults, { req: request, res: response, body });
    }
  });
  server.on("connection", (socket) => {
    opened++;
    sockets.set(socket, opened);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
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
  if (f.delayHeadersMs !== undefined) await sleep(f.delayHeadersMs);
  if (f.resetBeforeHeaders === true) {
    x.req.socket.destroy();
    return;
  }
  if (!r.serves(x.req.url ?? "")) {
    sendJson(x.res, 404, r.errorBody(404), {});
    return;
  }
  if (f.status !== undefined) {
    const headers: Record<string, string> = f.retryAfter === undefined ? {} : { "retry-after": f.retryAfter };
    sendJson(x.res, f.status, f.errorBody ?? r.errorBody(f.status), headers);
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
  if (f.firstByteDelayMs !== undefined) await sleep(f.firstByteDelayMs);
  if (stream) await writeStream(r, b, f, x);
  else
    x.res.end(f.malformedJson === true ? '{"id": "chatcmpl-broken", "choices": [' : JSON.stringify(r.complete(x.body)));
}

function sendJson(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(body);
}

async function writeStream(r: ProviderResponder, b: MockBehaviour, f: MockFaults, x: Exchange): Promise<void> {
  const { frames, terminator } = r.streamFrames(x.body);
  const all = f.omitTerminator === true ? frames : [...frames, ...terminator];
  let flushed: Promise<void> = Promise.resolve();
  for (let i = 0; i < all.length; i++) {
    if (x.res.destroyed) return;
    if (f.cutAfterChunks === i) {
      await flushed; // the events before the cut reach the client, then the connection dies
      x.req.socket.destroy();
      return;
    }
    if (f.errorEventAfterChunks === i) {
      x.res.end(r.errorEvent());
      return;
    }
    if (f.malformedSse === true && i === 1) x.res.write("data: {this is not json\n\n");
    flushed = new Promise((resolve) => {
      x.res.write(all[i], () => {
        resolve();
      });
    });
    if (b.chunkIntervalMs !== undefined && b.chunkIntervalMs > 0) await sleep(b.chunkIntervalMs);
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

export function sse(data: unknown, event?: string): string {
  const line = `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
  return event === undefined ? line : `event: ${event}\n${line}`;
}
