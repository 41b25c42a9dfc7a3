/**
 * The HTTP layer shared by the network adapters: keep-alive undici dispatchers (one per distinct connect timeout,
 * proxy and CA bundle, so `provider.timeouts.connectMs` and `provider.egress` are honoured while every origin still
 * gets one pooled set of sockets), request sending with error mapping, and body reading.
 */
import { StringDecoder } from "node:string_decoder";
import { rootCertificates } from "node:tls";
import { Agent, EnvHttpProxyAgent, ProxyAgent, type Dispatcher } from "undici";
import type { EgressConfig, ProviderConfig } from "../../config/types.js";
import type { CallOptions } from "../types.js";
import type { CallSignal } from "./call-signal.js";
import { httpError, malformed, toUpstreamError } from "./errors.js";
import { retryAfterFromHeaders } from "./retry-after.js";

export interface HttpClientOptions {
  /** Idle keep-alive socket lifetime (the server's keep-alive hint wins when shorter). Default 60 s. */
  keepAliveTimeoutMs?: number;
  /** Max sockets per origin; null = unlimited (the default). */
  connectionsPerOrigin?: number | null;
}

export interface HttpClient {
  /**
   * The keep-alive dispatcher for a provider: its connect timeout (≤ 0 = undici's default of 10 s), its proxy
   * (HTTPS_PROXY / HTTP_PROXY / NO_PROXY by default) and the extra CA bundle its TLS certificate may chain to.
   */
  dispatcherFor(provider: Pick<ProviderConfig, "timeouts" | "egress">, caBundle?: string | null): Dispatcher;
  /** Registers a user; the returned function releases it, and the last release closes the sockets. */
  retain(): () => Promise<void>;
  /** Closes every Agent now (idempotent). */
  close(): Promise<void>;
}

/** Environment: the proxy variables when the dispatcher was made (undici reads them once). */
const ENVIRONMENT: EgressConfig = { proxy: "environment", proxyURL: null, caKey: null };

export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const agents = new Map<string, Dispatcher>();
  const keepAliveTimeout = options.keepAliveTimeoutMs ?? 60_000;
  const connections = options.connectionsPerOrigin ?? null;
  // Per provider object and CA bundle: the dispatcher without building its key on every request (configs are
  // immutable once loaded; a reload's new objects find the same Agent by key, so sockets stay pooled).
  const byProvider = new WeakMap<object, Map<string | null, Dispatcher>>();
  let users = 0;
  let closed: Promise<void> | null = null;

  const close = (): Promise<void> => {
    closed ??= Promise.all([...agents.values()].map((a) => a.close())).then(() => undefined);
    return closed;
  };
  return {
    dispatcherFor(provider, caBundle = null) {
      let mine = byProvider.get(provider);
      const known = mine?.get(caBundle);
      if (known !== undefined) return known;
      const connectMs = provider.timeouts.connectMs > 0 ? provider.timeouts.connectMs : 0;
      const egress = provider.egress ?? ENVIRONMENT;
      const key = JSON.stringify([connectMs, egress.proxy, egress.proxyURL, caBundle]);
      let agent = agents.get(key);
      if (agent === undefined) {
        const pool = { keepAliveTimeout, keepAliveMaxTimeout: Math.max(keepAliveTimeout, 600_000), connections };
        agent = newDispatcher(egress, pool, tlsOptions(connectMs, caBundle));
        agents.set(key, agent);
      }
      if (mine === undefined) byProvider.set(provider, (mine = new Map<string | null, Dispatcher>()));
      mine.set(caBundle, agent);
      return agent;
    },
    retain() {
      users++;
      let released = false;
      return () => {
        if (released) return Promise.resolve();
        released = true;
        users--;
        return users <= 0 ? close() : Promise.resolve();
      };
    },
    close,
  };
}

type PoolOptions = Pick<Agent.Options, "keepAliveTimeout" | "keepAliveMaxTimeout" | "connections">;

/** The connect timeout, and the extra CAs on top of the system ones (Node's default store stays trusted). */
function tlsOptions(connectMs: number, caBundle: string | null): { timeout?: number; ca?: string[] } {
  return {
    ...(connectMs > 0 ? { timeout: connectMs } : {}),
    ...(caBundle ? { ca: [...rootCertificates, caBundle] } : {}),
  };
}

/**
 * direct: an Agent; url: a ProxyAgent tunnelling to the upstream (the TLS options apply to the upstream's
 * connection, not the proxy's); environment: undici's EnvHttpProxyAgent, which picks a ProxyAgent or a direct
 * Agent per request from HTTPS_PROXY / HTTP_PROXY / NO_PROXY — or, when neither proxy variable is set (undici reads
 * them once, when the agent is made), a direct Agent: EnvHttpProxyAgent would still parse every request's origin
 * and read NO_PROXY from the environment to reach the same direct Agent.
 */
function newDispatcher(egress: EgressConfig, pool: PoolOptions, tls: { timeout?: number; ca?: string[] }): Dispatcher {
  if (egress.proxy === "direct" || (egress.proxy === "environment" && !proxyInEnvironment()))
    return new Agent({ ...pool, connect: tls });
  if (egress.proxy === "url" && egress.proxyURL)
    return new ProxyAgent({ ...pool, uri: egress.proxyURL, requestTls: tls });
  return new EnvHttpProxyAgent({ ...pool, connect: tls, requestTls: tls });
}

/** Whether HTTPS_PROXY or HTTP_PROXY (either case, as undici reads them) is set to something. */
function proxyInEnvironment(): boolean {
  const env = process.env;
  return [env["HTTPS_PROXY"], env["https_proxy"], env["HTTP_PROXY"], env["http_proxy"]].some((v) => !!v);
}

/** A resolved upstream endpoint, computed once per ProviderConfig. */
export interface Endpoint {
  origin: string;
  /** Path and query. */
  path: string;
  /** Lower-cased static headers (content-type, provider.headers, version headers); the key is added per call. */
  headers: Record<string, string>;
}

export interface SendArgs {
  providerId: string;
  dispatcher: Dispatcher;
  endpoint: Endpoint;
  /** Header that carries the key ("authorization" sends `Bearer <key>`). */
  authHeader: string;
  body: string;
  /** Headers and body-idle timeout, ms; ≤ 0 = undici defaults. */
  timeoutMs: number;
  options: CallOptions;
}

export type Response = Dispatcher.ResponseData;

/** A timeout Node's timers can hold (2^31-1 ms; longer ones fire at once). */
function timeout(ms: number): number {
  return Math.min(ms, 2 ** 31 - 1);
}

/** Largest error body read to find the upstream's message. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * POSTs and resolves with a 2xx response whose body is still unread. A non-2xx status becomes
 * UpstreamError("http") (its body read for the message, its retry-after parsed); transport errors are mapped.
 */
export async function send(args: SendArgs): Promise<Response> {
  const { options, providerId } = args;
  let res: Response;
  try {
    res = await args.dispatcher.request({
      origin: args.endpoint.origin,
      path: args.endpoint.path,
      method: "POST",
      headers: withKey(forwarded(args.endpoint.headers, options), args.authHeader, options.apiKey),
      body: args.body,
      signal: options.signal,
      ...(args.timeoutMs > 0 ? { headersTimeout: timeout(args.timeoutMs), bodyTimeout: timeout(args.timeoutMs) } : {}),
    });
  } catch (err) {
    throw toUpstreamError(err, options.signal, providerId);
  }
  if (res.statusCode >= 200 && res.statusCode < 300) return res;
  const text = await readText(res, options.signal, providerId, MAX_ERROR_BODY);
  const retryAfterMs = retryAfterFromHeaders(res.headers, Date.now());
  throw httpError(providerId, res.statusCode, text, retryAfterMs, options.apiKey);
}

/**
 * The request id and the trace context (the attempt span's, or the client's with tracing off), so an upstream's
 * logs and traces join the router's.
 */
function forwarded(headers: Record<string, string>, options: CallOptions): Record<string, string> {
  const { trace } = options;
  return {
    ...headers,
    "x-request-id": options.requestId,
    ...(trace?.traceparent ? { traceparent: trace.traceparent } : {}),
    ...(trace?.tracestate ? { tracestate: trace.tracestate } : {}),
  };
}

function withKey(headers: Record<string, string>, authHeader: string, apiKey: string | null): Record<string, string> {
  if (apiKey === null) return headers;
  const value = authHeader === "authorization" ? `Bearer ${apiKey}` : apiKey;
  return { ...headers, [authHeader]: value };
}

/** Reads the whole body as UTF-8 (at most `limit` chars, the rest is discarded). Maps transport errors. */
export async function readText(
  res: Response,
  signal: CallSignal,
  providerId: string,
  limit = Infinity,
): Promise<string> {
  let text = "";
  const decoder = new StringDecoder("utf8");
  try {
    for await (const bytes of res.body as AsyncIterable<Buffer>) {
      if (text.length < limit) text += decoder.write(bytes);
    }
    text += decoder.end();
  } catch (err) {
    throw toUpstreamError(err, signal, providerId);
  }
  return text.length > limit ? text.slice(0, limit) : text;
}

/** Reads and parses a JSON body; unparsable text becomes UpstreamError("malformed"). */
export async function readJson(res: Response, signal: CallSignal, providerId: string): Promise<unknown> {
  let text: string;
  try {
    // undici's own collector (one Buffer.concat and decode at the end; a leading BOM skipped): no async iterator
    // and StringDecoder per chunk, on the hot path of every non-streaming answer.
    text = await res.body.text();
  } catch (err) {
    throw toUpstreamError(err, signal, providerId);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw malformed(providerId, "body is not JSON", err);
  }
}

/** Lower-cases header names so a provider's `Authorization` cannot duplicate ours. */
export function lowerCaseHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  return out;
}

/** Splits a base URL into origin and path prefix (no trailing slash). */
export function splitBaseURL(baseURL: string): { origin: string; prefix: string } {
  const url = new URL(baseURL);
  const prefix = url.pathname.endsWith("/") ? url.pathname.slice(0, -1) : url.pathname;
  return { origin: url.origin, prefix };
}
