/**
 * The Redis state store: provider limits and budget spend shared by every replica of a gateway. One round trip per
 * call (an atomic script, or MGET); every call has a timeout and none throws but as the failure policy says. The
 * writes a request leaves behind (its charge, its tokens, its lease's release) are on the connection before the
 * request's answer is written, so the client's next request reads them on this replica, and on another one unless
 * Redis serves that replica's read first (README, "Overshoot").
 *
 * Unreachable store (a call failed or timed out): the store stops calling Redis and PINGs it every probe interval
 * until it answers. Meanwhile, under failurePolicy `open` slots are granted (the replica's own health view still
 * enforces each provider's limits per replica), spend reads answer what this replica last read plus its own
 * charges since, and charges wait in memory and are sent once Redis is back; under `closed` acquire and readSpend
 * throw StateUnavailableError (the request answers 503 state_unavailable). A charge whose call timed out may have
 * been applied before it is sent again: on a flaky link spend is counted at least once, never lost.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { ProviderLimits } from "../config/types.js";
import { limitKeys, spendKey } from "./keys.js";
import { ACQUIRE, CHARGE, LuaScript, RECORD_TOKENS, sendNow } from "./scripts.js";
import {
  fromNanos,
  StateUnavailableError,
  toNanos,
  type Admission,
  type FailurePolicy,
  type SlotRequest,
  type SpendKey,
  type StateObserver,
  type StateOperation,
  type StateStore,
} from "./types.js";

export const DEFAULT_STATE_TIMEOUT_MS = 200;
const MINUTE = 60_000;
/** Counters outlive their period by a day, for late readers and clock skew between replicas. */
const SPEND_GRACE_MS = 86_400_000;

export interface RedisStoreOptions {
  client: Redis;
  /** Namespaces every key (one prefix per gateway). */
  prefix: string;
  failurePolicy: FailurePolicy;
  observer: StateObserver;
  /** Longest wait for one call. */
  timeoutMs: number;
  /** How often an unreachable store is probed (default 1 s). */
  probeIntervalMs?: number;
  /** The router's clock: budget periods (default Date.now). */
  now?: () => number;
  /** The limits' clock; absent: the Redis server's, so replicas with skewed clocks agree. Tests pass one. */
  windowClock?: () => number;
  /** Length of the rate windows (default a minute: limits are per minute). */
  windowMs?: number;
}

type Outcome<T> = { ok: true; value: T } | { ok: false };

const ACQUIRE_SCRIPT = new LuaScript(ACQUIRE);
const TOKENS_SCRIPT = new LuaScript(RECORD_TOKENS);
const CHARGE_SCRIPT = new LuaScript(CHARGE);

export class RedisStateStore implements StateStore {
  readonly sharedLimits = true;
  private up = true;
  private probe: NodeJS.Timeout | null = null;
  private readonly instance = randomBytes(6).toString("hex");
  private seq = 0;
  /** What this replica last read of each counter, plus its charges since (answers reads while Redis is away). */
  private readonly known: Counters = new Map();
  /** Charges Redis has not confirmed, by counter: sent when it is back. */
  private readonly pending: Counters = new Map();
  /**
   * Charges sent and not yet answered. A read counts them too, so that no ordering of the replies can make it miss
   * one (charges go out at once as EVAL, LuaScript.runNow; when they went as EVALSHA, the first after Redis
   * restarted failed NOSCRIPT and went again after the next request's read), and a spent budget never admits the
   * next request of the same client.
   */
  private readonly inFlight: Counters = new Map();
  private readonly now: () => number;
  private readonly windowMs: number;

  constructor(private readonly o: RedisStoreOptions) {
    this.now = o.now ?? Date.now;
    this.windowMs = o.windowMs ?? MINUTE;
    // Without a listener an ioredis "error" event would crash the process; failures are handled per call.
    o.client.on("error", () => undefined);
  }

  /**
   * Waits (bounded) for the connection and checks that Redis answers, at startup. An unreachable Redis does not
   * fail the router: the store starts unreachable and probes until Redis answers.
   */
  async start(connectTimeoutMs = 5_000): Promise<boolean> {
    await withTimeout(ready(this.o.client), connectTimeoutMs).catch(() => undefined);
    const pinged = await this.call("ping", () => this.o.client.ping());
    return pinged.ok;
  }

  /** True while Redis answers. */
  get reachable(): boolean {
    return this.up;
  }

  async acquire(r: SlotRequest): Promise<Admission> {
    const id = `${this.instance}:${(this.seq++).toString(36)}`;
    const { requestsPerMinute, tokensPerMinute, maxConcurrency } = r.limits;
    const args = [this.clockArg(), this.windowMs, requestsPerMinute, tokensPerMinute, maxConcurrency, id, r.leaseMs];
    const keys = limitKeys(this.o.prefix, r.providerId);
    const result = await this.call("acquire", () => ACQUIRE_SCRIPT.run(this.o.client, keys, args));
    if (!result.ok) return this.unavailable("acquire", { granted: true, release: () => undefined, fullForMs: 0 });
    const [granted, ms] = numbers(result.value);
    if (granted !== 1) return { granted: false, retryAfterMs: ms };
    let released = maxConcurrency === 0;
    const release = (): void => {
      if (released) return;
      released = true;
      void this.call("release", () => sendNow(this.o.client, "zrem", [keys[1], id])).then((done) => {
        if (!done.ok) this.o.observer.failed("release", "local"); // the lease expires on its own
      });
    };
    return { granted: true, release, fullForMs: ms };
  }

  recordTokens(providerId: string, limits: ProviderLimits, tokens: number): void {
    if (limits.tokensPerMinute <= 0 || tokens <= 0) return;
    if (!this.up) {
      this.o.observer.failed("tokens", "local");
      return;
    }
    const [, , entries, sum] = limitKeys(this.o.prefix, providerId);
    const id = `${this.instance}:${(this.seq++).toString(36)}`;
    const args = [this.clockArg(), this.windowMs, id, Math.round(tokens)];
    void this.call("tokens", () => TOKENS_SCRIPT.runNow(this.o.client, [entries, sum], args)).then((done) => {
      if (!done.ok) this.o.observer.failed("tokens", "local");
    });
  }

  async readSpend(keys: readonly SpendKey[]): Promise<number[]> {
    if (keys.length === 0) return [];
    const now = this.now();
    const counters = keys.map((k) => spendKey(this.o.prefix, k, now));
    const names = counters.map((c) => c.name);
    const result = await this.call("read_spend", () => this.o.client.mget(...names));
    if (!result.ok)
      return this.unavailable(
        "read_spend",
        names.map((n) => fromNanos(this.knownNanos(n, now))),
      );
    return counters.map((c, i) => {
      const unconfirmed = (this.pending.get(c.name)?.nanos ?? 0) + (this.inFlight.get(c.name)?.nanos ?? 0);
      const nanos = Number(result.value[i] ?? 0) + unconfirmed;
      this.known.set(c.name, { nanos, expiresAt: c.period.end });
      return fromNanos(nanos);
    });
  }

  charge(keys: readonly SpendKey[], usd: number): void {
    const nanos = toNanos(usd);
    if (nanos <= 0 || keys.length === 0) return;
    const now = this.now();
    const counters = keys.map((k) => {
      const { name, period } = spendKey(this.o.prefix, k, now);
      return { name, nanos, expiresAt: period.end + SPEND_GRACE_MS };
    });
    for (const c of counters) add(this.known, c, now);
    if (!this.up) {
      this.defer(counters);
      return;
    }
    this.send(counters);
  }

  /** Sends charges to Redis, counted in flight until it answers; deferred (pending) if the call fails. */
  private send(counters: { name: string; nanos: number; expiresAt: number }[]): void {
    const now = this.now();
    for (const c of counters) add(this.inFlight, c, now);
    void this.call("charge", () => CHARGE_SCRIPT.runNow(this.o.client, names(counters), chargeArgs(counters))).then(
      (done) => {
        for (const c of counters) subtract(this.inFlight, c);
        if (!done.ok) this.defer(counters);
      },
    );
  }

  async close(): Promise<void> {
    this.stopProbing();
    const quit = this.o.client.quit().catch(() => undefined);
    await withTimeout(quit, this.o.timeoutMs).catch(() => undefined);
    this.o.client.disconnect();
  }

  /** One call to Redis, bounded by the timeout; a failure marks the store unreachable. Skipped while it is. */
  private async call<T>(op: StateOperation, fn: () => Promise<T>): Promise<Outcome<T>> {
    if (!this.up && op !== "ping") return { ok: false };
    const t0 = performance.now();
    try {
      const value = await withTimeout(fn(), this.o.timeoutMs);
      this.o.observer.latency(op, (performance.now() - t0) / 1000);
      return { ok: true, value };
    } catch (err) {
      this.o.observer.latency(op, (performance.now() - t0) / 1000);
      this.lost(err);
      return { ok: false };
    }
  }

  /** A call that could not reach Redis, by the failure policy: the open answer, or StateUnavailableError. */
  private unavailable<T>(op: StateOperation, open: T): T {
    if (this.o.failurePolicy === "closed") {
      this.o.observer.failed(op, "refused");
      throw new StateUnavailableError(`the shared state store (Redis) is unreachable: ${op} refused`);
    }
    this.o.observer.failed(op, "local");
    return open;
  }

  private lost(err: unknown): void {
    if (!this.up && this.probe) return;
    this.up = false;
    this.o.observer.availability(false, err instanceof Error ? err.message : String(err));
    this.probe ??= setInterval(() => void this.probeOnce(), this.o.probeIntervalMs ?? 1000);
    this.probe.unref();
  }

  private async probeOnce(): Promise<void> {
    const pinged = await this.call("ping", () => this.o.client.ping());
    if (!pinged.ok || this.up) return;
    this.up = true;
    this.stopProbing();
    this.o.observer.availability(true, null);
    this.flush();
  }

  private stopProbing(): void {
    if (this.probe) clearInterval(this.probe);
    this.probe = null;
  }

  private defer(counters: { name: string; nanos: number; expiresAt: number }[]): void {
    const now = this.now();
    for (const c of counters) add(this.pending, c, now);
    this.o.observer.failed("charge", "deferred");
  }

  /** Sends the charges that waited while Redis was away (they stay pending if this call fails too). */
  private flush(): void {
    const now = this.now();
    const counters = [...this.pending].filter(([, c]) => c.expiresAt > now).map(([name, c]) => ({ name, ...c }));
    this.pending.clear();
    if (counters.length === 0) return;
    this.send(counters);
  }

  private knownNanos(name: string, now: number): number {
    const k = this.known.get(name);
    return k && k.expiresAt > now ? k.nanos : 0;
  }

  private clockArg(): string {
    return this.o.windowClock ? String(this.o.windowClock()) : "";
  }
}

type Counters = Map<string, { nanos: number; expiresAt: number }>;

/** Adds to a counter; a new counter first drops those whose period has ended (the maps stay small). */
function add(map: Counters, c: { name: string; nanos: number; expiresAt: number }, now: number): void {
  const { name, nanos, expiresAt } = c;
  const known = map.get(name);
  if (known) {
    known.nanos += nanos;
    return;
  }
  for (const [n, old] of map) if (old.expiresAt <= now) map.delete(n);
  map.set(name, { nanos, expiresAt });
}

/** Takes back what {@link add} added; a counter at zero goes. */
function subtract(map: Counters, c: { name: string; nanos: number }): void {
  const known = map.get(c.name);
  if (!known) return;
  known.nanos -= c.nanos;
  if (known.nanos <= 0) map.delete(c.name);
}

function names(counters: { name: string }[]): string[] {
  return counters.map((c) => c.name);
}

function chargeArgs(counters: { nanos: number; expiresAt: number }[]): number[] {
  return counters.flatMap((c) => [c.nanos, c.expiresAt]);
}

function numbers(reply: unknown): [number, number] {
  const [a, b] = Array.isArray(reply) ? (reply as unknown[]) : [];
  return [Number(a), Number(b)];
}

/** Resolves once the client is connected and ready. */
function ready(client: Redis): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return new Promise((resolve) => client.once("ready", () => resolve()));
}

/** Rejects after `ms` unless the promise settles first (the call's result is then ignored). */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms}ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
