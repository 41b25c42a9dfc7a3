/**
 * The state a router shares with its peers (issue 17): slots of providers' `limits` and spend counters of budgets.
 * Two implementations: in memory (the default; everything per replica, `npm start` needs nothing) and Redis
 * (global across every replica of a gateway). See docs/adr/0016-client-keys-and-budgets.md, "Shared state (Redis)".
 */
import type { BudgetPeriod, ProviderLimits } from "../config/types.js";
import type { BudgetScope } from "../select/budget.js";

export type { BudgetScope } from "../select/budget.js";

/** One spend counter: a scope's named object in its budget's current period. */
export interface SpendKey {
  scope: BudgetScope;
  /** The client key's name, the team label or the route name. */
  name: string;
  period: BudgetPeriod;
}

/** The store's calls, as metrics and logs name them. */
export type StateOperation = "acquire" | "release" | "tokens" | "read_spend" | "charge" | "ping";

/**
 * How a failed call was handled: `local` (failurePolicy open: served on this replica's own state), `refused`
 * (failurePolicy closed: the request answers 503 state_unavailable), `deferred` (a charge kept in memory and sent
 * when the store is back).
 */
export type FailureHandling = "local" | "refused" | "deferred";

/** Told about every call to a shared store (router/accounting writes the metrics and logs). */
export interface StateObserver {
  /** A call to the store ended (answered, failed or timed out) after this long. */
  latency(operation: StateOperation, seconds: number): void;
  /** A call the store could not serve (it failed, or the store was unreachable), and how that was handled. */
  failed(operation: StateOperation, handling: FailureHandling): void;
  /** The shared store became reachable (true) or unreachable (false, with the error's message). */
  availability(up: boolean, reason: string | null): void;
}

export type FailurePolicy = "open" | "closed";
export const FAILURE_POLICIES: readonly FailurePolicy[] = ["open", "closed"];

/** failurePolicy closed and the shared store is unreachable: the request must be refused (503 state_unavailable). */
export class StateUnavailableError extends Error {
  override readonly name = "StateUnavailableError";
}

export interface SlotRequest {
  providerId: string;
  limits: ProviderLimits;
  /** How long a concurrency slot is held at most if its release never arrives (a replica died). */
  leaseMs: number;
}

export type Admission =
  | {
      granted: true;
      /** Frees the concurrency slot (idempotent). */
      release: () => void;
      /** The grant filled a rate window: ms until it lets a request through again (0 when it did not). */
      fullForMs: number;
    }
  | {
      granted: false;
      /** ms until the rate windows let a request through; 0 when only the concurrency limit is full. */
      retryAfterMs: number;
    };

export interface StateStore {
  /**
   * True when provider limits are enforced here across replicas. False (in memory): the replica's own health view
   * (router/dispatch/health.ts) enforces them per replica and `acquire` need not be called.
   */
  readonly sharedLimits: boolean;
  /**
   * A slot for one attempt on a provider under its limits (requests and tokens per minute, concurrency).
   * Throws StateUnavailableError only under failurePolicy closed; under open, an unreachable store grants (the
   * replica's own limits apply).
   */
  acquire(request: SlotRequest): Promise<Admission>;
  /** Tokens an answer used, for the provider's tokens-per-minute window. Never throws. */
  recordTokens(providerId: string, limits: ProviderLimits, tokens: number): void;
  /**
   * The USD spent in each counter's current period, in order. Throws StateUnavailableError only under
   * failurePolicy closed; under open, an unreachable store answers what this replica last knew plus its own charges.
   */
  readSpend(keys: readonly SpendKey[]): Promise<number[]>;
  /** Adds a request's cost to each counter. Never throws; while the store is unreachable the charge waits. */
  charge(keys: readonly SpendKey[], usd: number): void;
  close(): Promise<void>;
}

/** Spend is counted in integer nano-USD, so sums across replicas do not drift. */
export const NANOS_PER_USD = 1e9;

export function toNanos(usd: number): number {
  return Math.round(usd * NANOS_PER_USD);
}

export function fromNanos(nanos: number): number {
  return nanos / NANOS_PER_USD;
}
