/**
 * The one redaction of upstream text. Everything an upstream says can echo what it was sent — the key in
 * `authorization`, `x-api-key` or `api-key` among it — so every path that carries upstream text (JSON error
 * bodies, stream error events, Anthropic `error` events, in-band errors, transport error details) goes through
 * `redactSecrets` in the adapter, and dispatch runs it again over every UpstreamError that leaves an adapter, so
 * attempt summaries, the upstream_rejected message, mid-stream error events and log fields are covered whatever
 * an adapter forgot.
 */

export const REDACTED = "[redacted]";

/** Secrets shorter than this are not searched for (they would match ordinary text). */
const MIN_SECRET = 4;

/** `Bearer <token>` anywhere: the token is a credential whoever's it is. */
const BEARER = /(bearer\s+)[\w.~+/=-]{8,}/gi;

/** `"x-api-key": "<value>"`, `api-key=<value>`, `authorization: <value>` as headers are echoed in JSON or text. */
const KEY_FIELD =
  /((?:x-api-key|api-key|authorization|x-goog-api-key)["']?\s*[:=]\s*["']?)(?!bearer\s)[^"'\s,;}]{8,}/gi;

/** The text with every occurrence of each secret, and anything shaped like a credential header, replaced. */
export function redactSecrets(text: string, secrets: readonly (string | null)[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret !== null && secret.length >= MIN_SECRET && out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out.replace(BEARER, `$1${REDACTED}`).replace(KEY_FIELD, `$1${REDACTED}`);
}
