/**
 * The ioredis client of the shared state store, configured so that no call can hang or queue: commands fail at
 * once while disconnected (no offline queue) and after the timeout otherwise, and are never resent; the client
 * reconnects in the background. The password comes from a file (a Secret), never from the command line.
 */
import { Redis } from "ioredis";

export interface RedisConnection {
  /** redis://host:port/db or rediss://… (TLS). */
  url: string;
  password?: string;
  /** PEM CA bundle the server's certificate must chain to (rediss://), in addition to the system CAs. */
  ca?: string;
  timeoutMs: number;
}

export function createRedisClient(c: RedisConnection): Redis {
  const url = new URL(c.url);
  if (url.protocol !== "redis:" && url.protocol !== "rediss:")
    throw new Error(`the Redis URL must start with redis:// or rediss:// (got ${url.protocol}//)`);
  return new Redis(c.url, {
    ...(c.password === undefined ? {} : { password: c.password }),
    ...(url.protocol === "rediss:" ? { tls: { servername: url.hostname, ...(c.ca ? { ca: c.ca } : {}) } } : {}),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: c.timeoutMs,
    connectTimeout: Math.max(1_000, c.timeoutMs * 5),
    retryStrategy: (times) => Math.min(100 * times, 2_000),
    enableAutoPipelining: true,
    connectionName: "routewise-router",
  });
}

/** The URL without credentials, for logs. */
export function redactedRedisUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = url.username === "" ? "" : "***";
    url.password = url.password === "" ? "" : "***";
    return url.toString();
  } catch {
    return "(unparsable Redis URL)";
  }
}
