/**
 * Optional client authentication: API keys from a mounted file (a Secret), each allowed a set of routes.
 * Keys may be stored as plain text or as sha256 hex digests; both are compared in constant time.
 */
import { isRecord } from "../config/json.js";
import type { ClientKeysConfig } from "../config/types.js";
import { createHash, timingSafeEqual } from "node:crypto";
import { HttpError } from "../openai/errors.js";

export interface ClientKey {
  /** A label for logs and metrics-free auditing; never the key. */
  name: string;
  sha256: Buffer;
  /** Route names, or ["*"] for all. */
  routes: string[];
  /** Prefixed to the key before hashing (the config's client keys, issue 17); absent: none. */
  salt?: string;
}

export interface Principal {
  name: string;
  allows(route: string): boolean;
}

export class ClientAuth {
  constructor(private readonly keys: ClientKey[]) {}

  /** Parses the keys file content: {"keys":[{"name","key"|"sha256","routes":["*"]}]} (JSON or YAML as object). */
  static fromDocument(doc: unknown): ClientAuth {
    const list = isRecord(doc) ? doc["keys"] : undefined;
    if (!Array.isArray(list)) throw new Error('the API keys file needs a "keys" list');
    return new ClientAuth(list.map(parseKey));
  }

  /**
   * The config's client keys (ModelClientKey objects compiled to salted hashes, issue 17), then the keys of `also`
   * (the --api-keys file), if any.
   */
  static fromClientKeys(config: ClientKeysConfig, also: ClientAuth | null): ClientAuth {
    const keys = config.keys.map((k) => ({
      name: k.name,
      sha256: Buffer.from(k.sha256, "hex"),
      routes: k.routes,
      salt: config.salt,
    }));
    return new ClientAuth([...keys, ...(also?.keys ?? [])]);
  }

  /** The principal for the request's credentials, or an OpenAI-shaped 401. */
  authenticate(header: (name: string) => string | undefined): Principal {
    const token = bearer(header("authorization")) ?? header("api-key") ?? header("x-api-key");
    if (token === undefined || token === "") {
      throw new HttpError(
        401,
        "missing API key: send Authorization: Bearer <key> (or x-api-key: <key>)",
        "authentication_error",
        "missing_api_key",
      );
    }
    const digests = new Map<string, Buffer>();
    const digest = (salt: string): Buffer => {
      let d = digests.get(salt);
      if (!d) digests.set(salt, (d = sha256(salt + token)));
      return d;
    };
    const key = this.keys.find((k) => k.sha256.length === 32 && timingSafeEqual(k.sha256, digest(k.salt ?? "")));
    if (!key) throw new HttpError(401, "invalid API key", "authentication_error", "invalid_api_key");
    return { name: key.name, allows: (route) => key.routes.includes("*") || key.routes.includes(route) };
  }
}

function parseKey(entry: unknown, i: number): ClientKey {
  if (!isRecord(entry) || typeof entry["name"] !== "string") throw new Error(`keys[${i}] needs a name`);
  const routes = Array.isArray(entry["routes"])
    ? entry["routes"].filter((r): r is string => typeof r === "string")
    : ["*"];
  if (typeof entry["key"] === "string" && entry["key"] !== "")
    return { name: entry["name"], sha256: sha256(entry["key"]), routes };
  if (typeof entry["sha256"] === "string" && /^[0-9a-f]{64}$/.test(entry["sha256"])) {
    return { name: entry["name"], sha256: Buffer.from(entry["sha256"], "hex"), routes };
  }
  throw new Error(`keys[${i}] (${entry["name"]}) needs key or sha256 (64 hex chars)`);
}

function bearer(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(value);
  return m?.[1]?.trim();
}

function sha256(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}
