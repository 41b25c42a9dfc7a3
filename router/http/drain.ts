/**
 * Graceful shutdown for kept-alive clients (issue 15 #5). Once draining: every response still to be sent says
 * `connection: close`, a stream already under way closes its connection when it ends, and a new request that
 * arrives on a kept-alive connection is refused with 503 `shutting_down` (and `connection: close`), so its client
 * retries elsewhere instead of keeping this replica busy until the drain timeout resets everything.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { HttpError } from "../openai/errors.js";
import { sendError } from "./respond.js";

/** Answered while draining, so probes still see the replica going away (metrics have their own listener). */
const STILL_SERVED = new Set(["/healthz", "/readyz"]);

export class Drain {
  private readonly open = new Set<ServerResponse>();
  private started = false;

  get draining(): boolean {
    return this.started;
  }

  /** Responses not yet finished or closed. */
  get inflight(): number {
    return this.open.size;
  }

  /** Tracks the response; false (the 503 sent) when the request arrived after draining began. */
  admit(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.started) {
      res.setHeader("connection", "close");
      const path = (req.url ?? "").split("?")[0] ?? "";
      if (!(req.method === "GET" && STILL_SERVED.has(path))) {
        req.resume();
        sendError(res, shuttingDown());
        return false;
      }
    }
    this.open.add(res);
    res.once("close", () => this.open.delete(res));
    return true;
  }

  /** Starts draining: responses in flight close their connection once sent. */
  start(): void {
    this.started = true;
    for (const res of this.open) {
      if (!res.headersSent) res.setHeader("connection", "close");
      else res.once("finish", () => res.socket?.end());
    }
  }
}

function shuttingDown(): HttpError {
  return new HttpError(
    503,
    "the router is shutting down; retry on a new connection",
    "api_error",
    "shutting_down",
  ).withHeaders({ "retry-after": "0" });
}
