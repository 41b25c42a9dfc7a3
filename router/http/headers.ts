/** Request and response headers: reading a client header, the x-routewise-* routing headers, USD formatting. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import { fellBackFrom, type AttemptFailure } from "../dispatch/dispatch.js";
import type { TraceContext } from "../providers/types.js";
import type { Selection } from "../select/types.js";

/** A request header (lower-cased name), multiple values joined as node does for most headers. */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(", ") : v;
}

const TRACEPARENT = /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/;
const MAX_TRACESTATE = 512;

/**
 * The client's W3C trace context: traceparent when it is well-formed, and tracestate with it (bounded). The
 * request's span continues it; upstreams get it (or, tracing on, the attempt span's).
 */
export function traceContext(req: IncomingMessage): TraceContext {
  const traceparent = header(req, "traceparent")?.trim().toLowerCase();
  if (!traceparent || !TRACEPARENT.test(traceparent)) return {};
  const tracestate = header(req, "tracestate");
  return tracestate && tracestate.length <= MAX_TRACESTATE ? { traceparent, tracestate } : { traceparent };
}

export function setRoutingHeaders(
  res: ServerResponse,
  route: RouteConfig,
  selection: Selection,
  answered: { provider: ProviderConfig; failures: AttemptFailure[] },
): void {
  const { provider } = answered;
  res.setHeader("x-routewise-route", route.name);
  res.setHeader("x-routewise-model", provider.model);
  res.setHeader("x-routewise-provider", provider.id);
  const from = fellBackFrom(answered);
  const fellBack = from.length > 0 ? `fallback(from=${from.join(",")}); ` : "";
  res.setHeader("x-routewise-decision", `${fellBack}${selection.explanation}`);
}

export function formatUSD(x: number): string {
  return x.toFixed(8).replace(/0+$/, "").replace(/\.$/, ".0");
}
