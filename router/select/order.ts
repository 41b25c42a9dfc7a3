/** Order: what health allows, and the shadow rollout's baseline-first order. */
import type { ProviderConfig } from "../config/types.js";
import type { HealthView } from "./types.js";

/** Saturated providers are dropped; open circuits go last (tried only when nothing else is left). */
export function orderByHealth(ranked: ProviderConfig[], health: HealthView): ProviderConfig[] {
  const available = ranked.filter((p) => !health.isSaturated(p.id));
  return [...available.filter((p) => !health.isOpen(p.id)), ...available.filter((p) => health.isOpen(p.id))];
}

/** Shadow rollout (and canary's baseline arm): the baseline answers; the decided provider is only reported. */
export function shadowOrder(baseline: ProviderConfig, healthy: ProviderConfig[]): ProviderConfig[] {
  return [baseline, ...healthy.filter((p) => p.id !== baseline.id)];
}
