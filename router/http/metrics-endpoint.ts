/**
 * The router's second listener: `GET /metrics` (Prometheus text) and `GET /healthz`, on their own port so that
 * the API port (and a Service or Ingress in front of it) never exposes them — client API keys guard only the
 * API. Like the operator's metrics port: plain node:http, nothing else served. The source is one process's registry,
 * or with `--workers N` the primary's aggregation of every worker's (one scrape shows the whole pod).
 */
import type { RequestListener } from "node:http";
import type { Logger } from "pino";
import { HttpError } from "../openai/errors.js";
import { sendError, sendJson } from "./respond.js";

/** What a scrape reads: a prom-client Registry, or the cluster aggregation. */
export interface MetricsSource {
  metrics(): Promise<string>;
  readonly contentType: string;
}

export function createMetricsEndpoint(deps: { registry: MetricsSource; logger: Logger }): RequestListener {
  const { registry } = deps;
  return (req, res) => {
    const path = (req.url ?? "").split("?")[0];
    const get = req.method === "GET";
    if (get && path === "/metrics") {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": registry.contentType }).end(text);
        },
        (err: unknown) => {
          deps.logger.error({ err }, "Failed to collect metrics");
          sendError(res, new HttpError(500, "could not collect metrics", "api_error", "internal_error"));
        },
      );
    } else if (get && path === "/healthz") {
      sendJson(res, 200, { status: "ok" });
    } else {
      const message = `no route for ${req.method ?? "?"} ${path ?? ""}`;
      sendError(res, new HttpError(404, message, "invalid_request_error", "unknown_url"));
    }
  };
}
