/**
 * Optional client authentication: API keys from a mounted file (`--api-keys`, a Secret), and the ModelClientKeys
 * the config carries as salted sha256 digests (`clientKeys`, issue 17). Either one makes a key required; a key
 * from either is accepted. File keys may be plain text or sha256 hex digests. Every comparison is constant-time.
 */
import { isRecord } from "../config/json.js";
import { createHash, timingSafeEqual } from "node:crypto";
import type { ClientKeysConfig } from "../config/types.js";
import { HttpError } from "../openai/errors.js";

export interface ClientKey {
  /** A label for logs and metrics-free auditing; never the key. */
  name: string;
  /** The key's team, or null. */
  team: string | null;
  sha256: Buffer;
  /** Route names, or ["*"] for all. */
  routes: string[];
}

export interface Principal {
  /** The key's name (a ModelClientKey's `namespace/name`); never the key. */
  name: string;
  /** Its team (a ModelClientKey's `team` label), or null. */
  team: string | null;
  allows(route: string): boolean;
}

/** The keys of an `--api-keys` file. */
export class ClientAuth {
  constructor(private readonly keys: ClientKey[]) {}

  /** Parses the keys file content: {"keys":[{"name","key"|"sha256","routes":["*"],"team"}]} (JSON or YAML). */
  static fromDocument(doc: unknown): ClientAuth {
    const list = isRecord(doc) ? doc["keys"] : undefined;
    if (!Array.isArray(list)) throw new Error('the API keys file needs a "keys" list');
    return new ClientAuth(list.map(parseKey));
  }

  /** The principal for the request's credentials, or an OpenAI-shaped 401 (the file's keys only). */
  authenticate(header: (name: string) => string | undefined): Principal {
    const principal = this.match(tokenOf(header));
    if (!principal) throw invalidKey();
    return principal;
  }

  /** The key the token is, or null. */
  match(token: string): Principal | null {
    return matchDigest(this.keys, sha256(token));
  }
}

/**
 * The principal of a request: null when neither an `--api-keys` file nor the config's clientKeys is set (no
 * authentication), else the key the request sends, or an OpenAI-shaped 401. A config with clientKeys but no
 * usable key (every Secret gone) still requires one: it accepts only the file's keys.
 */
export function authenticate(
  file: ClientAuth | null,
  clientKeys: ClientKeysConfig | null | undefined,
  header: (name: string) => string | undefined,
): Principal | null {
  if (!file && !clientKeys) return null;
  const token = tokenOf(header);
  const principal = file?.match(token) ?? (clientKeys ? configKeys(clientKeys).match(token) : null);
  if (!principal) throw invalidKey();
  return principal;
}

interface ConfigKeys {
  match(token: string): Principal | null;
}

/** The config's keys with their digests decoded, once per config (a reload brings a new object). */
const decoded = new WeakMap<ClientKeysConfig, ConfigKeys>();

function configKeys(c: ClientKeysConfig): ConfigKeys {
  let keys = decoded.get(c);
  if (!keys) {
    const list: ClientKey[] = c.keys.map((k) => ({ ...k, sha256: Buffer.from(k.sha256, "hex") }));
    keys = { match: (token) => matchDigest(list, sha256(c.salt + token)) };
    decoded.set(c, keys);
  }
  return keys;
}

/** Compares the digest with every key (no early exit), each comparison constant-time. */
function matchDigest(keys: readonly ClientKey[], digest: Buffer): Principal | null {
  let hit: ClientKey | null = null;
  for (const k of keys) if (k.sha256.length === digest.length && timingSafeEqual(k.sha256, digest)) hit ??= k;
  if (!hit) return null;
  const { name, team, routes } = hit;
  return { name, team, allows: (route) => routes.includes("*") || routes.includes(route) };
}

/** The request's key (Authorization: Bearer, api-key, x-api-key), or a 401 naming how to send one. */
function tokenOf(header: (name: string) => string | undefined): string {
  const token = bearer(header("authorization")) ?? header("api-key") ?? header("x-api-key");
  if (token === undefined || token === "") {
    throw new HttpError(
      401,
      "missing API key: send Authorization: Bearer <key> (or x-api-key: <key>)",
      "authentication_error",
      "missing_api_key",
    );
  }
  return token;
}

function invalidKey(): HttpError {
  return new HttpError(401, "invalid API key", "authentication_error", "invalid_api_key");
}

function parseKey(entry: unknown, i: number): ClientKey {
  if (!isRecord(entry) || typeof entry["name"] !== "string") throw new Error(`keys[${i}] needs a name`);
  const routes = Array.isArray(entry["routes"])
    ? entry["routes"].filter((r): r is string => typeof r === "string")
    : ["*"];
  const named = { name: entry["name"], team: typeof entry["team"] === "string" ? entry["team"] : null, routes };
  if (typeof entry["key"] === "string" && entry["key"] !== "") return { ...named, sha256: sha256(entry["key"]) };
  if (typeof entry["sha256"] === "string" && /^[0-9a-f]{64}$/.test(entry["sha256"])) {
    return { ...named, sha256: Buffer.from(entry["sha256"], "hex") };
  }
  throw new Error(`keys[${i}] (${entry["name"]}) needs key or sha256 (64 hex chars)`);
}

function bearer(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(value);
  return m?.[1]?.trim();
}

function sha256(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}
