/**
 * An attempt's slot under its provider's limits. The replica's own health view always counts the attempt (in-flight,
 * request starts: per-replica limits, which selection already applied). With a shared store (Redis, issue 17) the
 * store is asked first, so the limits hold across replicas: a refusal moves on to the next candidate like a
 * saturated provider, and a refusal or a grant that filled a window is fed back into the health view, so selection
 * skips the provider until its window frees without asking the store again.
 */
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import { StateUnavailableError, type StateStore } from "../state/types.js";
import type { ProviderHealth } from "./health.js";

/** A concurrency lease outlives the request's total timeout by this much before the store frees it on its own. */
const LEASE_MARGIN_MS = 5_000;

/**
 * A refused slot: `saturated` (the provider is at its limits across the gateway's replicas; retry when its window
 * frees, 1 s when only its concurrency is full) or `state_unavailable` (failurePolicy closed, the store unreachable).
 */
export interface Refused {
  granted: false;
  kind: "saturated" | "state_unavailable";
  retryAfterMs: number;
  message: string;
}

export type Slot = { granted: true; release: () => void } | Refused;

export async function takeSlot(
  deps: { health: ProviderHealth; state?: StateStore | null },
  route: RouteConfig,
  provider: ProviderConfig,
): Promise<Slot> {
  const { state, health } = deps;
  if (!state?.sharedLimits || !hasLimits(provider.limits)) return { granted: true, release: health.begin(provider.id) };
  const leaseMs = route.timeouts.requestMs + LEASE_MARGIN_MS;
  try {
    const admission = await state.acquire({ providerId: provider.id, limits: provider.limits, leaseMs });
    if (!admission.granted) {
      health.fullFor(provider.id, admission.retryAfterMs);
      const retryAfterMs = admission.retryAfterMs > 0 ? admission.retryAfterMs : 1000;
      const message = "at its rate or concurrency limit across the gateway's replicas";
      return { granted: false, kind: "saturated", retryAfterMs, message };
    }
    health.fullFor(provider.id, admission.fullForMs);
    const local = health.begin(provider.id);
    return {
      granted: true,
      release: () => {
        local();
        admission.release();
      },
    };
  } catch (err) {
    if (err instanceof StateUnavailableError)
      return { granted: false, kind: "state_unavailable", retryAfterMs: 1000, message: err.message };
    throw err;
  }
}

function hasLimits(l: ProviderConfig["limits"]): boolean {
  return l.maxConcurrency > 0 || l.requestsPerMinute > 0 || l.tokensPerMinute > 0;
}
