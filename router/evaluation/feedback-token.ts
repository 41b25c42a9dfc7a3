/**
 * Feedback tokens (ADR 10): `v1.` + base64url(JSON payload) + `.` + base64url(HMAC-SHA256(key, "v1." + payload b64)).
 * The payload names the route, the answering model, the decision reason, the request id and the expiry (unix
 * seconds, 7 days after the answer). No server state: any replica holding the key verifies any replica's token.
 */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from "node:crypto";

export const FEEDBACK_TOKEN_VERSION = "v1";
export const FEEDBACK_TOKEN_TTL_SECONDS = 7 * 24 * 3600;

export interface FeedbackPayload {
  /** Route name. */
  r: string;
  /** Answering model. */
  m: string;
  /** Decision reason. */
  d: string;
  /** Request id. */
  i: string;
  /** Expiry, unix seconds. */
  e: number;
}

export type TokenCheck =
  | { ok: true; payload: FeedbackPayload }
  | { ok: false; code: "invalid_feedback_token" | "expired_feedback_token"; message: string };

export function signFeedbackToken(key: Uint8Array, payload: FeedbackPayload): string {
  const head = `${FEEDBACK_TOKEN_VERSION}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}`;
  // digest("base64url") straight to the string: no Buffer (allocated outside V8's heap) on every answer.
  return `${head}.${hmac(key, head).digest("base64url")}`;
}

/** The payload of a token signed with `key` that has not expired at `nowSeconds`. */
export function verifyFeedbackToken(key: Uint8Array, token: string, nowSeconds: number): TokenCheck {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== FEEDBACK_TOKEN_VERSION)
    return invalid("the feedback token is malformed (expected v1.<payload>.<signature>)");
  const [version, body, signature] = parts as [string, string, string];
  const expected = mac(key, `${version}.${body}`);
  const given = Buffer.from(signature, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return invalid("the feedback token's signature does not match (tampered, or signed with another key)");
  const payload = parsePayload(body);
  if (payload === null) return invalid("the feedback token's payload is malformed");
  if (payload.e <= nowSeconds)
    return { ok: false, code: "expired_feedback_token", message: "the feedback token has expired" };
  return { ok: true, payload };
}

function mac(key: Uint8Array, text: string): Buffer {
  return hmac(key, text).digest();
}

/** The key as a KeyObject, made once per key: createHmac copies and checks a raw key on every call. */
const keyObjects = new WeakMap<Uint8Array, KeyObject>();

/** HMAC-SHA256 of `text` under `key`, not yet digested (the one place the algorithm is named). */
function hmac(key: Uint8Array, text: string): ReturnType<typeof createHmac> {
  let keyObject = keyObjects.get(key);
  if (keyObject === undefined) {
    keyObject = createSecretKey(key);
    keyObjects.set(key, keyObject);
  }
  return createHmac("sha256", keyObject).update(text);
}

function invalid(message: string): TokenCheck {
  return { ok: false, code: "invalid_feedback_token", message };
}

function parsePayload(body: string): FeedbackPayload | null {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const p = value as Record<string, unknown>;
  const strings = ["r", "m", "d", "i"].every((k) => typeof p[k] === "string");
  return strings && typeof p["e"] === "number" && Number.isFinite(p["e"]) ? (value as FeedbackPayload) : null;
}
