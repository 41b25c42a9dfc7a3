/**
 * The CLI's access log (ADR 5): for `info(fields, msg)` the line pino writes — `level`, `time`, the base fields,
 * the fields, `msg` — built with one JSON.stringify of the fields. pino serializes a line key by key (a JS string
 * escaper per value, safe-stable-stringify per nested object), about twice the garbage of this line (~5 KB against
 * ~2.5 KB for a served request's) and more CPU, on every request. For plain data only — no serializers, redaction
 * or errors, which the request record's lines never carry — and only at info: the record logs nothing else.
 */
import type { DestinationStream } from "pino";
import type { AccessLogger } from "../router/main.js";

/** pino's numeric level for info. */
const INFO = 30;

export interface JsonAccessLogOptions {
  /** The fields every line carries after `time` (pino's `base`). */
  base: Record<string, unknown>;
  /** Whether info lines are written (the router logger's level). */
  enabled: boolean;
  out: DestinationStream;
  /** Epoch ms for `time`. */
  now?: () => number;
}

export function jsonAccessLog(o: JsonAccessLogOptions): AccessLogger {
  const base = members(o.base);
  const now = o.now ?? Date.now;
  return {
    isLevelEnabled: () => o.enabled,
    info: (fields, msg) => {
      if (!o.enabled) return;
      o.out.write(`{"level":${INFO},"time":${now()}${base}${members(fields)},"msg":${JSON.stringify(msg)}}\n`);
    },
  };
}

/** An object's JSON members, each after a comma ("" for none). */
function members(fields: Record<string, unknown>): string {
  const json = JSON.stringify(fields);
  return json.length > 2 ? `,${json.slice(1, -1)}` : "";
}
