/**
 * The router's API surface: OpenAI-compatible endpoints plus health and readiness. Every error leaves as
 * OpenAI-shaped JSON; no request can crash the process. `/metrics` is not served here but on the metrics port
 * (metrics-endpoint.ts), so whoever can reach the API cannot read the metrics.
 *
 * POST /v1/chat/completions (the hot path), POST /v1/responses (translated, or passed through to providers that
 * speak it natively: responses-native.ts), POST /v1/messages (the Anthropic Messages API, answered in Anthropic's
 * shape, errors included) and POST /v1/embeddings are served straight from node:http (body read by
 * `readJsonBody`); everything else goes through express. Express alone reaches only ~0.4x a bare proxy's
 * throughput here (ADR 5).
 */
import { randomUUID } from "node:crypto";
import { STATUS_CODES, type IncomingMessage, type RequestListener, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import express, { type NextFunction, type Request, type Response } from "express";
import type { Logger } from "pino";
import { errorBody, HttpError } from "../openai/errors.js";
import { readJsonBody } from "./body.js";
import type { Drain } from "./drain.js";
import { OPENAI_INGRESS, type Ingress } from "./answer-writer.js";
import { createChatHandler, rejectedIn, type Answerer, type ChatDeps, type ChatHandler } from "./chat-completions.js";
import { createEmbeddingsHandler } from "./embeddings.js";
import { ANTHROPIC_INGRESS } from "./messages.js";
import { LEGACY_COMPLETIONS_INGRESS } from "./legacy-completions.js";
import { header, traceContext } from "./headers.js";
import { feedbackHandler } from "./feedback.js";
import { listModels } from "./models.js";
import { sendError } from "./respond.js";
import { RESPONSES_INGRESS } from "./responses.js";
import { answerResponses } from "./responses-native.js";

export interface AppDeps extends ChatDeps {
  logger: Logger;
  /** Max request body in bytes (413 above). */
  maxBodyBytes: number;
  /** False while starting (no config) or draining for shutdown. */
  ready: () => boolean;
  /** Why /readyz answers 503, when known (no valid config yet, draining); safe to serve unauthenticated. */
  notReadyReason?: () => string | null;
  /** Tracks responses for shutdown and refuses requests that arrive while draining. */
  drain: Drain;
}

/** The reason a /readyz 503 gives, when there is one to give. */
function notReady(deps: AppDeps, noConfig: boolean): { reason?: string } {
  const reason = deps.notReadyReason?.() ?? (noConfig ? "no router config loaded yet" : null);
  return reason === null ? {} : { reason };
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** A feedback body is a token and a score. */
const FEEDBACK_BODY_LIMIT = "16kb";

/** An endpoint served straight from node:http: its handler, and how its errors leave (its wire format's). */
interface HotPath {
  path: RegExp;
  handler: ChatHandler;
  sendError: Ingress["sendError"];
  endpoint: Ingress["endpoint"];
}

const CHAT_PATH = /^\/v1\/chat\/completions\/?(\?.*)?$/i;
const RESPONSES_PATH = /^\/v1\/responses\/?(\?.*)?$/i;
const LEGACY_COMPLETIONS_PATH = /^\/v1\/completions\/?(\?.*)?$/i;
const MESSAGES_PATH = /^\/v1\/messages\/?(\?.*)?$/i;
const EMBEDDINGS_PATH = /^\/v1\/embeddings\/?(\?.*)?$/i;

/** The server's request listener: the POST endpoints (chat, responses, messages, completions, embeddings), else express. */
export function createApp(deps: AppDeps): RequestListener {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use((req, res, next) => {
    setRequestId(req, res);
    next();
  });
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", (_req, res) => {
    const snap = deps.snapshot();
    if (deps.ready() && snap) res.json({ status: "ready", config: snap.config.hash });
    else res.status(503).json({ status: "not ready", ...notReady(deps, snap === null) });
  });
  app.get("/v1/models", (req, res) => {
    res.json(listModels(deps.snapshot(), deps.auth, (n) => req.get(n)));
  });
  // Model ids may contain slashes (a directly addressable "meta-llama/Llama-3-8b"): everything after /v1/models/.
  app.get(/^\/v1\/models\/(.+)$/, (req, res) => {
    const id = decodeURIComponent((req.params as Record<string, string>)["0"] ?? "");
    const model = listModels(deps.snapshot(), deps.auth, (n) => req.get(n)).data.find((m) => m.id === id);
    if (!model) {
      const message = `The model ${JSON.stringify(id)} does not exist (see GET /v1/models)`;
      throw new HttpError(404, message, "invalid_request_error", "model_not_found", "model");
    }
    res.json(model);
  });
  app.post("/v1/feedback", express.json({ limit: FEEDBACK_BODY_LIMIT, type: () => true }), feedbackHandler(deps));
  app.use((req, _res, next) => {
    next(new HttpError(404, `no route for ${req.method} ${req.path}`, "invalid_request_error", "unknown_url"));
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    handleError(deps.logger, err, req, res);
  });
  const chatPath = (path: RegExp, ingress: Ingress, answer?: Answerer): HotPath => ({
    path,
    handler: createChatHandler(deps, ingress, answer),
    sendError: ingress.sendError,
    endpoint: ingress.endpoint,
  });
  const hot: HotPath[] = [
    chatPath(CHAT_PATH, OPENAI_INGRESS),
    chatPath(RESPONSES_PATH, RESPONSES_INGRESS, answerResponses),
    chatPath(LEGACY_COMPLETIONS_PATH, LEGACY_COMPLETIONS_INGRESS),
    chatPath(MESSAGES_PATH, ANTHROPIC_INGRESS),
    {
      path: EMBEDDINGS_PATH,
      handler: createEmbeddingsHandler(deps),
      sendError: OPENAI_INGRESS.sendError,
      endpoint: "embeddings",
    },
  ];
  return (req, res) => {
    if (!deps.drain.admit(req, res)) return;
    const served = req.method === "POST" ? hot.find((h) => h.path.test(req.url ?? "")) : undefined;
    if (served === undefined) {
      app(req, res);
      return;
    }
    const { handler } = served;
    setRequestId(req, res);
    let read = false;
    readJsonBody(req, deps.maxBodyBytes)
      .then((body) => {
        read = true;
        return handler(req, res, body);
      })
      .catch((err: unknown) => {
        // A body refused before the handler (413, malformed JSON) still gets its access-log line.
        if (!read) {
          const record = deps.record(res.getHeader("x-request-id") as string, traceContext(req));
          record.describe({ endpoint: served.endpoint });
          rejectedIn(record, err);
          record.end();
        }
        handleError(deps.logger, err, req, res, served.sendError);
      });
  };
}

function setRequestId(req: IncomingMessage, res: ServerResponse): void {
  const given = header(req, "x-request-id");
  res.setHeader("x-request-id", given !== undefined && REQUEST_ID.test(given) ? given : randomUUID());
}

/** Errors express raises itself (e.g. a malformed URL) carry an HTTP status. */
interface BodyParserError {
  status?: number;
  message?: string;
}

/**
 * Maps every error to an OpenAI-shaped response (or the endpoint's wire format's, `send`); unexpected ones are
 * logged and answered with a 500.
 */
function handleError(
  logger: Logger,
  err: unknown,
  req: IncomingMessage,
  res: ServerResponse,
  send: (res: ServerResponse, e: HttpError) => void = sendError,
): void {
  if (err instanceof HttpError) {
    send(res, err);
    return;
  }
  const e = err as BodyParserError;
  if (typeof e.status === "number" && e.status >= 400 && e.status < 500) {
    send(res, new HttpError(e.status, e.message ?? "bad request", "invalid_request_error"));
  } else if (res.destroyed) {
    // The client went away; nothing to answer.
  } else {
    const path = (req.url ?? "").split("?")[0];
    logger.error({ err, requestId: res.getHeader("x-request-id"), path }, "Failed to serve request");
    if (res.headersSent) res.destroy();
    else send(res, new HttpError(500, "internal error in the router", "api_error", "internal_error"));
  }
}

/** Parser errors Node raises before there is a request: status and OpenAI error code. */
const PROTOCOL_ERRORS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, "request_header_fields_too_large"],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, "request_too_large"],
  ERR_HTTP_REQUEST_TIMEOUT: [408, "request_timeout"],
};

/**
 * The server's `clientError` listener: a request Node's parser refused (headers too large, Content-Length with
 * Transfer-Encoding, a NUL in a header, …) is answered OpenAI-shaped, as Node would answer it (only while nothing
 * has been written on the socket), then the connection closes.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex & { bytesWritten?: number }): void {
  if (err.code === "ECONNRESET" || !socket.writable || (socket.bytesWritten ?? 0) > 0) {
    socket.destroy();
    return;
  }
  const [status, code] = PROTOCOL_ERRORS[err.code ?? ""] ?? [400, "bad_request"];
  const reason = STATUS_CODES[status] ?? "Bad Request";
  const message = `the request could not be parsed: ${reason.toLowerCase()} (${err.code ?? "unknown"})`;
  const body = JSON.stringify(errorBody(new HttpError(status, message, "invalid_request_error", code)));
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
