/**
 * The router's HTTP surface: OpenAI-compatible endpoints plus health, readiness and metrics. Every error leaves
 * as OpenAI-shaped JSON; no request can crash the process.
 */
import { randomUUID } from "node:crypto";
import express, { type NextFunction, type Request, type Response } from "express";
import type { Logger } from "pino";
import type { RouterMetrics } from "../metrics/metrics.js";
import type { Snapshot } from "../state.js";
import type { ClientAuth } from "./auth.js";
import { createChatHandler, type ChatDeps } from "./chat.js";
import { HttpError, sendError } from "./errors.js";

export interface AppDeps extends ChatDeps {
  metrics: RouterMetrics;
  logger: Logger;
  auth: ClientAuth | null;
  /** Max request body in bytes (413 above). */
  maxBodyBytes: number;
  /** False while starting (no config) or draining for shutdown. */
  ready: () => boolean;
  snapshot: () => Snapshot | null;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(requestId);
  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", (_req, res) => {
    const snap = deps.snapshot();
    if (deps.ready() && snap) res.json({ status: "ready", config: snap.config.hash });
    else res.status(503).json({ status: "not ready" });
  });
  app.get("/metrics", (_req, res, next) => {
    deps.metrics.registry.metrics().then((text) => res.type(deps.metrics.registry.contentType).send(text), next);
  });
  app.get("/v1/models", (req, res) => {
    listModels(deps, req, res);
  });
  const chat = createChatHandler(deps);
  app.post("/v1/chat/completions", express.json({ limit: deps.maxBodyBytes, type: () => true }), (req, res, next) => {
    chat(req, res).catch(next);
  });
  app.use((req, _res, next) => {
    next(new HttpError(404, `no route for ${req.method} ${req.path}`, "invalid_request_error", "unknown_url"));
  });
  app.use(errorHandler(deps.logger));
  return app;
}

function requestId(req: Request, res: Response, next: NextFunction): void {
  const given = req.get("x-request-id");
  res.setHeader("x-request-id", given !== undefined && REQUEST_ID.test(given) ? given : randomUUID());
  next();
}

function listModels(deps: AppDeps, req: Request, res: Response): void {
  const snap = deps.snapshot();
  const principal = deps.auth?.authenticate((n) => req.get(n)) ?? null;
  const allowed = (route: string): boolean => principal === null || principal.allows(route);
  const created = 0;
  const data = [
    ...[...(snap?.routes.values() ?? [])]
      .filter((r) => allowed(r.name))
      .map((r) => ({ id: r.name, object: "model", created, owned_by: "routewise" })),
    ...[...(snap?.direct.entries() ?? [])]
      .filter(([, d]) => allowed(d.route.name))
      .map(([id, d]) => ({ id, object: "model", created, owned_by: d.provider.id })),
  ];
  res.json({ object: "list", data });
}

interface BodyParserError {
  type?: string;
  status?: number;
  message?: string;
}

/** Maps every error to an OpenAI-shaped response; unexpected ones are logged and answered with a 500. */
function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    if (err instanceof HttpError) {
      sendError(res, err);
      return;
    }
    const e = err as BodyParserError;
    if (e.type === "entity.too.large") {
      sendError(
        res,
        new HttpError(
          413,
          `the request body is larger than the limit (${e.message ?? ""})`,
          "invalid_request_error",
          "request_too_large",
        ),
      );
    } else if (e.type === "entity.parse.failed") {
      sendError(res, new HttpError(400, "the request body is not valid JSON", "invalid_request_error", "invalid_json"));
    } else if (typeof e.status === "number" && e.status >= 400 && e.status < 500) {
      sendError(res, new HttpError(e.status, e.message ?? "bad request", "invalid_request_error"));
    } else {
      logger.error({ err, requestId: res.getHeader("x-request-id"), path: req.path }, "Failed to serve request");
      if (res.headersSent) res.destroy();
      else sendError(res, new HttpError(500, "internal error in the router", "api_error", "internal_error"));
    }
  };
}
