/**
 * Maps transport failures (undici / node:net errors) and upstream error responses to UpstreamError.
 * Messages never carry request headers; upstream text goes through redactSecrets (./redact.ts) wherever it is echoed.
 */
import { UpstreamError, type UpstreamErrorKind } from "../types.js";
import { redactSecrets } from "./redact.js";
import { classifyRejection } from "./rejections.js";

const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
]);
const TIMEOUT_CODES = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "ETIMEDOUT"]);
const RESET_CODES = new Set([
  "UND_ERR_SOCKET",
  "ECONNRESET",
  "EPIPE",
  "ECONNABORTED",
  "UND_ERR_CLOSED",
  "UND_ERR_DESTROYED",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

/** Longest upstream error message copied into an UpstreamError. */
const MAX_MESSAGE = 500;

/** The `code` of an error, looking into AggregateError (happy-eyeballs connects) too. */
export function errorCode(err: unknown): string | null {
  if (typeof err !== "object" || err === null) return null;
  if ("code" in err && typeof err.code === "string") return err.code;
  if (err instanceof AggregateError) {
    for (const inner of err.errors) {
      const code = errorCode(inner);
      if (code !== null) return code;
    }
  }
  return null;
}

export function kindOfCode(code: string | null): UpstreamErrorKind {
  if (code === null) return "reset";
  if (CONNECT_CODES.has(code)) return "connect";
  if (TIMEOUT_CODES.has(code)) return "timeout";
  if (RESET_CODES.has(code)) return "reset";
  return "reset";
}

/**
 * Wraps an error thrown while sending the request or reading the body. An already-mapped UpstreamError passes
 * through; an aborted signal always wins (undici rejects with the signal's reason, whatever it is).
 */
export function toUpstreamError(
  err: unknown,
  signal: { readonly aborted: boolean },
  providerId: string,
): UpstreamError {
  if (err instanceof UpstreamError) return err;
  if (signal.aborted) return new UpstreamError("aborted", `${providerId}: request aborted`, null, null, { cause: err });
  const code = errorCode(err);
  const kind = kindOfCode(code);
  const detail = redactSecrets(err instanceof Error ? err.message : String(err));
  return new UpstreamError(kind, `${providerId}: ${describeKind(kind)} (${code ?? "unknown"}: ${detail})`, null, null, {
    cause: err,
  });
}

function describeKind(kind: UpstreamErrorKind): string {
  switch (kind) {
    case "connect":
      return "could not connect to upstream";
    case "timeout":
      return "upstream timed out";
    default:
      return "upstream connection failed";
  }
}

/** An UpstreamError("http") for a non-2xx response; `bodyText` is the (possibly truncated) error body. */
export function httpError(
  providerId: string,
  status: number,
  bodyText: string,
  retryAfterMs: number | null,
  apiKey: string | null,
): UpstreamError {
  return upstreamError(providerId, status, fieldsOf(parseOrNull(bodyText)), { retryAfterMs, apiKey });
}

/** What an upstream error object says: `{"error":{"message","type","code","param"}}` and its variants. */
export interface ErrorFields {
  message: string | null;
  type: string | null;
  code: string | null;
  /** A numeric `code` (some OpenAI-compatible servers put the status there). */
  status: number | null;
  param: string | null;
}

/** The fields of an error body (OpenAI, Anthropic, `{"error":"…"}`, `{"message":"…"}`). */
export function fieldsOf(value: unknown): ErrorFields {
  const error = typeof value === "object" && value !== null && "error" in value ? value.error : undefined;
  const code = field(error, "code");
  return {
    message: messageOf(value),
    type: stringField(error, "type"),
    code: typeof code === "string" ? code : null,
    status: typeof code === "number" && code >= 400 && code < 600 ? code : null,
    param: stringField(error, "param"),
  };
}

/**
 * The one way upstream error text becomes an UpstreamError("http"): the message truncated and redacted, the
 * upstream's code and param kept, the rejection classified (rejections.ts).
 */
export function upstreamError(
  providerId: string,
  status: number,
  f: ErrorFields,
  o: { retryAfterMs?: number | null; apiKey: string | null; what?: string },
): UpstreamError {
  const upstream = f.message === null ? null : redactSecrets(truncate(f.message), [o.apiKey]);
  const what = o.what ?? `HTTP ${status}`;
  const text = upstream === null ? what : `${what}: ${upstream}`;
  return new UpstreamError("http", `${providerId}: ${text}`, status, o.retryAfterMs ?? null, {
    code: f.code === null ? null : redactSecrets(f.code, [o.apiKey]),
    param: f.param === null ? null : redactSecrets(f.param, [o.apiKey]),
    rejection: classifyRejection(status, f.code, f.message ?? ""),
  });
}

/** Error types that stand for a status, for error objects that arrive inside a 200 (stream events, in-band). */
const STATUS_OF_TYPE: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  server_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** The status an error object stands for: its numeric code, else its type, else `fallback`. */
export function statusOf(f: ErrorFields, fallback: number): number {
  return f.status ?? (f.type === null ? undefined : STATUS_OF_TYPE[f.type]) ?? fallback;
}

/**
 * A 2xx body that is an error object instead of an answer (an in-band error): an upstream failure like a 5xx,
 * never a success. Null when the body is not an error object.
 */
export function inBandError(providerId: string, value: unknown, apiKey: string | null): UpstreamError | null {
  if (typeof value !== "object" || value === null || !("error" in value) || "choices" in value) return null;
  const f = fieldsOf(value);
  const status = statusOf(f, 502);
  // An error a 200 carries is the upstream's failure, never a verdict on the request: at least a 5xx.
  return upstreamError(providerId, status >= 500 ? status : 502, f, { apiKey, what: "in-band error in a 200 answer" });
}

function parseOrNull(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null; // Not JSON (an HTML proxy page, say): the status alone is the message.
  }
}

function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null && key in value
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/** Extracts `error.message` (OpenAI, Anthropic), `message` or a string `error` from a JSON error body. */
export function messageFromBody(bodyText: string): string | null {
  const message = messageOf(parseOrNull(bodyText));
  return message === null ? null : truncate(message);
}

/** `{"error":"…"}`, `{"error":{"message":"…"}}` (OpenAI, Anthropic) or `{"message":"…"}`. */
function messageOf(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return null;
  const error = "error" in value ? value.error : undefined;
  if (typeof error === "string") return error;
  return stringField(error, "message") ?? stringField(value, "message");
}

function stringField(value: unknown, key: string): string | null {
  if (typeof value !== "object" || value === null || !(key in value)) return null;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === "string" ? field : null;
}

function truncate(s: string): string {
  return s.length > MAX_MESSAGE ? s.slice(0, MAX_MESSAGE) + "…" : s;
}

/** Builds an upstream request body; a failure (e.g. JSON.stringify overflowing) is the request's, not the provider's. */
export function encodeRequest(providerId: string, build: () => string): string {
  try {
    return build();
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new UpstreamError("request", `${providerId}: the request could not be encoded (${detail})`, null, null, {
      cause: err,
    });
  }
}

export function malformed(providerId: string, what: string, cause?: unknown): UpstreamError {
  return new UpstreamError("malformed", `${providerId}: malformed upstream response (${what})`, null, null, {
    cause,
  });
}
