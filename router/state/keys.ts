/**
 * Store key names, namespaced per gateway by the router's key prefix (`--state-key-prefix`; the chart sets
 * `routewise:<namespace>/<gateway>`), so gateways sharing one Redis never count each other's traffic.
 * Object names are URI-encoded: a name never reads as another key's separator.
 */
import { currentPeriod, type Period } from "./periods.js";
import type { SpendKey } from "./types.js";

export const DEFAULT_KEY_PREFIX = "routewise:standalone";

/** The keys of one provider's limits: request starts, concurrency leases, token entries and their sum. */
export function limitKeys(prefix: string, providerId: string): [string, string, string, string] {
  const base = `${prefix}:limits:${encodeURIComponent(providerId)}`;
  return [`${base}:requests`, `${base}:leases`, `${base}:tokens`, `${base}:token-sum`];
}

/** A spend counter's key in its current period, and the period (its end sets the key's expiry). */
export function spendKey(prefix: string, key: SpendKey, now: number): { name: string; period: Period } {
  const period = currentPeriod(key.period, now);
  const name = `${prefix}:spend:${key.scope}:${encodeURIComponent(key.name)}:${key.period}:${period.label}`;
  return { name, period };
}
