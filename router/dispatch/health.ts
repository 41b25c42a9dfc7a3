/**
 * Per-provider runtime state of one router replica: circuit breakers (consecutive failures within a window →
 * open for a cooldown → one half-open probe), in-flight counts, and request/token rate windows for the provider's
 * limits. Failures older than the breaker's window no longer count, so a stray failure long ago does not shorten
 * the next outage's patience.
 *
 * The half-open probe is the attempt whose `begin` found the cooldown over. However that attempt ends — a success
 * or failure recorded, or neither (a 4xx the request caused, the client gone, the request's deadline) — its
 * release clears the probe flag, so the next request probes again; a circuit is never left waiting for a probe
 * that is no longer in flight.
 */
import type { ProviderConfig } from "../config/types.js";
import type { HealthView } from "../select/types.js";

interface ProviderState {
  /** Times (ms) of the failures since the last success, within the breaker's window. */
  failures: number[];
  openUntil: number;
  probing: boolean;
  /** Bumped by every verdict, so a probe's release does not clear the flag of a later probe. */
  round: number;
  inflight: number;
  /** Start times (ms) of requests in the last minute. */
  requests: number[];
  /** [time, tokens] in the last minute. */
  tokens: [number, number][];
  /** Until when (ms) the shared store said the provider's rate windows are full (issue 17); 0: never. */
  fullUntil: number;
}

export interface BreakerSettings {
  consecutiveFailures: number;
  cooldownMs: number;
  /** Failures older than this do not count (default 60 s). */
  windowMs?: number;
}

/** RouteConfig.circuitBreaker.windowMs when a config does not say. */
export const DEFAULT_BREAKER_WINDOW_MS = 60_000;

const MINUTE = 60_000;

export class ProviderHealth implements HealthView {
  private readonly state = new Map<string, ProviderState>();
  private limits = new Map<string, ProviderConfig["limits"]>();
  /** What each provider calls (type, URL, model, key): a reload that changes it starts the breaker afresh. */
  private targets = new Map<string, string>();

  constructor(
    private readonly now: () => number,
    private readonly onCircuitChange: (providerId: string, open: boolean) => void = () => undefined,
  ) {}

  /**
   * Called when a new config is loaded. State of providers that still exist is kept, except the circuit of a
   * provider that now calls something else (another URL, model, type or key), which closes.
   */
  setProviders(providers: Iterable<ProviderConfig>): void {
    const list = [...providers];
    this.limits = new Map(list.map((p) => [p.id, p.limits]));
    const targets = new Map(list.map((p) => [p.id, target(p)]));
    for (const [id, s] of this.state) {
      if (!this.limits.has(id)) this.state.delete(id);
      else if (this.targets.has(id) && this.targets.get(id) !== targets.get(id)) this.closeCircuit(id, s);
    }
    this.targets = targets;
  }

  isOpen(id: string): boolean {
    const s = this.state.get(id);
    if (!s || s.openUntil === 0) return false;
    if (this.now() < s.openUntil) return true;
    return s.probing; // half-open: one probe at a time
  }

  isSaturated(id: string): boolean {
    const limits = this.limits.get(id);
    const s = this.state.get(id);
    if (!limits || !s) return false;
    if (this.now() < s.fullUntil) return true;
    if (limits.maxConcurrency > 0 && s.inflight >= limits.maxConcurrency) return true;
    const since = this.now() - MINUTE;
    if (limits.requestsPerMinute > 0 && countSince(s.requests, since) >= limits.requestsPerMinute) return true;
    return limits.tokensPerMinute > 0 && sumSince(s.tokens, since) >= limits.tokensPerMinute;
  }

  inflight(id: string): number {
    return this.state.get(id)?.inflight ?? 0;
  }

  /**
   * While the provider is saturated: how long until its rate windows let a request through (ms, at least 1 s;
   * 1 s when only its concurrency is full, which frees when any answer ends). An entry leaves its window 1 ms
   * after it is a minute old (isSaturated counts entries exactly a minute old). With a shared store, the time it
   * reported (fullFor) counts too.
   */
  freesInMs(id: string): number {
    const limits = this.limits.get(id);
    const s = this.state.get(id);
    if (!limits || !s) return 0;
    const now = this.now();
    const since = now - MINUTE;
    let at = Math.max(now, s.fullUntil);
    const requests = s.requests.filter((t) => t >= since);
    if (limits.requestsPerMinute > 0 && requests.length >= limits.requestsPerMinute)
      at = Math.max(at, (requests[requests.length - limits.requestsPerMinute] ?? now) + MINUTE + 1);
    const tokens = s.tokens.filter(([t]) => t >= since);
    if (limits.tokensPerMinute > 0) at = Math.max(at, tokensFreeAt(tokens, limits.tokensPerMinute, now));
    return Math.max(1000, at - now);
  }

  /** Marks an attempt started; returns a release function (idempotent) that also ends a half-open probe. */
  begin(id: string): () => void {
    const s = this.get(id);
    const t = this.now();
    s.inflight++;
    if ((this.limits.get(id)?.requestsPerMinute ?? 0) > 0) s.requests.push(t);
    const probe = s.openUntil !== 0 && t >= s.openUntil && !s.probing;
    if (probe) s.probing = true;
    const round = s.round;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      s.inflight--;
      // A probe that ended with no verdict: half-open again, the next request probes.
      if (probe && s.round === round) s.probing = false;
    };
  }

  /**
   * The shared store (issue 17) reported the provider's rate windows full across replicas for `ms`: selection skips
   * it until then, without asking the store, and freesInMs says when it frees.
   */
  fullFor(id: string, ms: number): void {
    if (ms <= 0) return;
    const s = this.get(id);
    s.fullUntil = Math.max(s.fullUntil, this.now() + ms);
  }

  recordTokens(id: string, tokens: number): void {
    if (tokens > 0 && (this.limits.get(id)?.tokensPerMinute ?? 0) > 0) this.get(id).tokens.push([this.now(), tokens]);
  }

  recordSuccess(id: string): void {
    this.closeCircuit(id, this.get(id));
  }

  recordFailure(id: string, breaker: BreakerSettings): void {
    const s = this.get(id);
    const t = this.now();
    const since = t - (breaker.windowMs ?? DEFAULT_BREAKER_WINDOW_MS);
    while (s.failures.length > 0 && (s.failures[0] ?? 0) < since) s.failures.shift();
    s.failures.push(t);
    if (s.failures.length > breaker.consecutiveFailures) s.failures.shift(); // only the last N matter
    const halfOpenProbeFailed = s.probing;
    s.probing = false;
    s.round++;
    if (halfOpenProbeFailed || s.failures.length >= breaker.consecutiveFailures) {
      const wasOpen = s.openUntil !== 0;
      s.openUntil = this.now() + breaker.cooldownMs;
      if (!wasOpen) this.onCircuitChange(id, true);
    }
  }

  private closeCircuit(id: string, s: ProviderState): void {
    const wasOpen = s.openUntil !== 0;
    s.failures = [];
    s.openUntil = 0;
    s.probing = false;
    s.round++;
    if (wasOpen) this.onCircuitChange(id, false);
  }

  private get(id: string): ProviderState {
    let s = this.state.get(id);
    if (!s) {
      s = { failures: [], openUntil: 0, probing: false, round: 0, inflight: 0, requests: [], tokens: [], fullUntil: 0 };
      this.state.set(id, s);
    }
    this.prune(s);
    return s;
  }

  private prune(s: ProviderState): void {
    const since = this.now() - MINUTE;
    while (s.requests.length > 0 && (s.requests[0] ?? 0) < since) s.requests.shift();
    while (s.tokens.length > 0 && (s.tokens[0]?.[0] ?? 0) < since) s.tokens.shift();
  }
}

function target(p: ProviderConfig): string {
  return JSON.stringify([p.type, p.baseURL, p.model, p.credentialKey, p.azure]);
}

/** When enough of the window's oldest token entries have expired for the sum to drop under the limit. */
function tokensFreeAt(entries: [number, number][], limit: number, now: number): number {
  let sum = entries.reduce((n, [, tokens]) => n + tokens, 0);
  for (const [t, tokens] of entries) {
    if (sum < limit) break;
    sum -= tokens;
    now = Math.max(now, t + MINUTE + 1);
  }
  return now;
}

function countSince(times: number[], since: number): number {
  let n = 0;
  for (let i = times.length - 1; i >= 0 && (times[i] ?? 0) >= since; i--) n++;
  return n;
}

function sumSince(entries: [number, number][], since: number): number {
  let n = 0;
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i];
    if (!e || e[0] < since) break;
    n += e[1];
  }
  return n;
}
