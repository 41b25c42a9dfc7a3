/**
 * Maps transport failures (undici / node:net errors) and upstream error responses to UpstreamError.
 * Messages never carry request headers; upstream text goes through redactSecrets (./redact.ts) wherever it is echoed.
 */
import { UpstreamError, type UpstreamErrorKind } from "../types.js";
import { redactSecrets } from "./redact.js";

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
export function toUpstreamError(err: unknown, signal: AbortSignal, providerId: string): UpstreamError {
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
  const upstream = messageFromBody(bodyText);
  const text = upstream === null ? `HTTP ${status}` : `HTTP ${status}: ${upstream}`;
  return new UpstreamError("http", `${providerId}: ${redactSecrets(text, [apiKey])}`, status, retryAfterMs);
}

/** Extracts `error.message` (OpenAI, Anthropic), `message` or a string `error` from a JSON error body. */
export function messageFromBody(bodyText: string): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    return null; // Not JSON (an HTML proxy page, say): the status alone is the message.
  }
  const message = messageOf(parsed);
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
