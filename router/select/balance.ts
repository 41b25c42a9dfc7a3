/** Balance: interchangeable providers (same model, price and quality) ordered by load and weight. */
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import type { SelectInput } from "./types.js";
import { perObject } from "../config/per-object.js";

/**
 * Providers serving the same upstream model at the same price and quality are interchangeable: order them by
 * least in-flight requests, breaking ties by weighted random choice.
 */
export function balance(ranked: ProviderConfig[], input: SelectInput): ProviderConfig[] {
  const out: ProviderConfig[] = [];
  let i = 0;
  while (i < ranked.length) {
    const head = ranked[i] as ProviderConfig;
    let j = i + 1;
    while (j < ranked.length && equivalent(head, ranked[j] as ProviderConfig)) j++;
    out.push(...(j - i > 1 ? orderGroup(ranked.slice(i, j), weightsOf(input.route), input) : [head]));
    i = j;
  }
  return out;
}

/** The candidates' weights by provider id, made once per route object (a reload makes new ones). */
const weightsOf = perObject((route: RouteConfig) => new Map(route.candidates.map((c) => [c.provider, c.weight])));

function equivalent(a: ProviderConfig, b: ProviderConfig): boolean {
  return (
    a.model === b.model &&
    a.quality.score === b.quality.score &&
    a.pricing.inputPerMillion === b.pricing.inputPerMillion &&
    a.pricing.outputPerMillion === b.pricing.outputPerMillion
  );
}

function orderGroup(group: ProviderConfig[], weight: Map<string, number>, input: SelectInput): ProviderConfig[] {
  const keyed = group.map((p) => {
    const w = weight.get(p.id) ?? 1;
    // Efraimidis–Spirakis weighted random key; weight 0 sorts last.
    const key = w > 0 ? Math.pow(input.random(), 1 / w) : -1;
    return { p, inflight: input.health.inflight(p.id), key };
  });
  keyed.sort((a, b) => a.inflight - b.inflight || b.key - a.key);
  return keyed.map((k) => k.p);
}
