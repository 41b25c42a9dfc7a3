/**
 * The in-memory state store: the default, and everything per replica. Provider limits are the replica's own
 * health view's (router/dispatch/health.ts), so `acquire` always grants; spend counters live in a map, one per
 * budget and period, and are dropped once their period has ended.
 */
import type { ProviderLimits } from "../config/types.js";
import { spendKey } from "./keys.js";
import { fromNanos, toNanos, type Admission, type SlotRequest, type SpendKey, type StateStore } from "./types.js";

const GRANTED: Admission = { granted: true, release: () => undefined, fullForMs: 0 };

export class MemoryStateStore implements StateStore {
  readonly sharedLimits = false;
  private readonly spend = new Map<string, { nanos: number; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  acquire(_request: SlotRequest): Promise<Admission> {
    return Promise.resolve(GRANTED);
  }

  recordTokens(_providerId: string, _limits: ProviderLimits, _tokens: number): void {
    // The replica's health view keeps the tokens-per-minute window (the request record feeds it).
  }

  readSpend(keys: readonly SpendKey[]): Promise<number[]> {
    const now = this.now();
    return Promise.resolve(keys.map((k) => fromNanos(this.counter(k, now)?.nanos ?? 0)));
  }

  charge(keys: readonly SpendKey[], usd: number): void {
    const nanos = toNanos(usd);
    if (nanos <= 0) return;
    const now = this.now();
    this.prune(now);
    for (const k of keys) {
      const { name, period } = spendKey("", k, now);
      const c = this.spend.get(name) ?? { nanos: 0, expiresAt: period.end };
      c.nanos += nanos;
      this.spend.set(name, c);
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private counter(k: SpendKey, now: number): { nanos: number; expiresAt: number } | undefined {
    const c = this.spend.get(spendKey("", k, now).name);
    return c && c.expiresAt > now ? c : undefined;
  }

  private prune(now: number): void {
    for (const [name, c] of this.spend) if (c.expiresAt <= now) this.spend.delete(name);
  }
}
