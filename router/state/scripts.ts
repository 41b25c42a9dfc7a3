/**
 * The Lua scripts of the Redis store: each runs atomically on the server, so replicas never race between reading
 * a window and taking a slot in it. Windows are sliding logs (exact: at most N starts in any window), timed by the
 * server's clock (TIME) unless a test passes one. Keys idle for two windows expire.
 */
import { createHash } from "node:crypto";
import { Command, type Redis } from "ioredis";

/** Shared head: `now` is ARGV[1] when given, else the Redis server's clock in ms. */
const CLOCK = `
local function clock(arg)
  local now = tonumber(arg)
  if now then return now end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function tokens_of(member) return tonumber(string.match(member, '(%d+)$')) end
`;

/**
 * A slot for one attempt. KEYS: 1 request starts (zset id → start), 2 concurrency leases (zset id → expiry),
 * 3 token entries (zset "id:tokens" → time), 4 their sum. ARGV: 1 now ("" = server clock), 2 window ms,
 * 3 requests per window, 4 tokens per window, 5 max concurrency (0 = no limit), 6 slot id, 7 lease ms.
 * Returns {1, ms until the request window frees when this grant filled it (else 0)} or {0, ms until a rate window
 * lets a request through (0 when only the concurrency limit is full)}.
 */
export const ACQUIRE = `${CLOCK}
local now = clock(ARGV[1])
local window = tonumber(ARGV[2])
local rpm, tpm, conc = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local since = now - window
local wait = 0
local count = 0
if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. since)
  count = redis.call('ZCARD', KEYS[1])
  if count >= rpm then
    local first = redis.call('ZRANGE', KEYS[1], count - rpm, count - rpm, 'WITHSCORES')
    wait = math.max(wait, tonumber(first[2]) + window + 1 - now)
  end
end
if tpm > 0 then
  local sum = 0
  if redis.call('EXISTS', KEYS[3]) == 1 then sum = tonumber(redis.call('GET', KEYS[4]) or '0') end
  local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. since)
  if #expired > 0 then
    for _, m in ipairs(expired) do sum = sum - tokens_of(m) end
    if sum < 0 then sum = 0 end
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. since)
    redis.call('SET', KEYS[4], sum, 'PX', 2 * window)
    redis.call('PEXPIRE', KEYS[3], 2 * window)
  end
  if sum >= tpm then
    local entries = redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES')
    local left, at = sum, now
    for i = 1, #entries, 2 do
      if left < tpm then break end
      left = left - tokens_of(entries[i])
      at = math.max(at, tonumber(entries[i + 1]) + window + 1)
    end
    wait = math.max(wait, at - now)
  end
end
local busy = false
if conc > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  busy = redis.call('ZCARD', KEYS[2]) >= conc
end
if wait > 0 or busy then return {0, wait} end
local full = 0
if rpm > 0 then
  redis.call('ZADD', KEYS[1], now, ARGV[6])
  redis.call('PEXPIRE', KEYS[1], 2 * window)
  if count + 1 >= rpm then
    local first = redis.call('ZRANGE', KEYS[1], count + 1 - rpm, count + 1 - rpm, 'WITHSCORES')
    full = tonumber(first[2]) + window + 1 - now
  end
end
if conc > 0 then
  local lease = tonumber(ARGV[7])
  redis.call('ZADD', KEYS[2], now + lease, ARGV[6])
  if redis.call('PTTL', KEYS[2]) < lease then redis.call('PEXPIRE', KEYS[2], lease) end
end
return {1, full}
`;

/** Tokens an answer used. KEYS: 1 token entries, 2 their sum. ARGV: 1 now, 2 window ms, 3 entry id, 4 tokens. */
export const RECORD_TOKENS = `${CLOCK}
local now = clock(ARGV[1])
local window = tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('DEL', KEYS[2]) end
redis.call('ZADD', KEYS[1], now, ARGV[3] .. ':' .. ARGV[4])
redis.call('INCRBY', KEYS[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], 2 * window)
redis.call('PEXPIRE', KEYS[2], 2 * window)
return 1
`;

/** Adds to spend counters. KEYS: the counters. ARGV: per key, nano-USD then the expiry (ms since the epoch). */
export const CHARGE = `
for i, key in ipairs(KEYS) do
  redis.call('INCRBY', key, ARGV[2 * i - 1])
  redis.call('PEXPIREAT', key, ARGV[2 * i])
end
return 1
`;

/** A script run by its SHA1 (EVALSHA), loaded with EVAL when the server does not know it yet (or restarted). */
export class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  async run(client: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }

  /**
   * Runs the script as EVAL, written to the connection before this returns: for a write another replica must see
   * once this one has answered (a charge, a token count). The client's auto-pipelining would hold it until the
   * next setImmediate — after the answer this replica writes in the same turn — and a NOSCRIPT retry would send
   * it one round trip later still; under a loaded host the next request, on another replica, read the spend first.
   */
  runNow(client: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return sendNow(client, "eval", [this.source, keys.length, ...keys, ...args]);
  }
}

/** A command written to the connection at once, past auto-pipelining (see LuaScript.runNow). */
export function sendNow(client: Redis, name: string, args: readonly (string | number)[]): Promise<unknown> {
  const command = new Command(name, [...args], { replyEncoding: "utf8" });
  void client.sendCommand(command);
  return command.promise;
}
