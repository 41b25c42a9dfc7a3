/** Request and response headers: reading a client header, the x-routewise-* routing headers, USD formatting. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import { fellBackFrom, type AttemptFailure } from "../dispatch/dispatch.js";
import type { Selection } from "../select/types.js";

/** A request header (lower-cased name), multiple values joined as node does for most headers. */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(", ") : v;
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
