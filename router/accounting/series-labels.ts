/**
 * The label objects of the request path's metrics, made once per route, provider and label value and then passed
 * on every request. The hot metrics (router/metrics/hot-*.ts) find a series by its label values and keep no label
 * object, so a fresh object per call was garbage only: ~1.5-2 KB per request across the dozen increments a
 * request makes (ADR 5). Keyed by the config's own objects: a reload makes new route and provider objects, and the
 * old label sets go with the old config.
 */
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import { perObject } from "../config/per-object.js";
import { genAiLabels } from "./gen-ai.js";

/** `make(key)` once per key, then the same object. */
class ByKey<L> {
  private readonly made = new Map<string, L>();
  constructor(private readonly make: (key: string) => L) {}

  get(key: string): L {
    let value = this.made.get(key);
    if (value === undefined) this.made.set(key, (value = this.make(key)));
    return value;
  }
}

/** A route's label sets (metrics labelled by route alone, or by route and one more value). */
export interface RouteLabels {
  readonly route: { route: string };
  /** By arm. */
  readonly arm: ByKey<{ route: string; arm: string }>;
}

/** A provider's label sets, whatever the route. */
export interface ProviderLabels {
  readonly model: { provider: string; model: string };
  /** By attempt outcome. */
  readonly outcome: ByKey<{ provider: string; model: string; outcome: string }>;
  readonly genAi: ReturnType<typeof genAiLabels>;
  /** GenAI request duration labels by attempt outcome (error_type is empty on success). */
  readonly genAiOutcome: ByKey<ReturnType<typeof genAiLabels> & { error_type: string }>;
  /** GenAI token usage labels by token type. */
  readonly genAiTokens: ByKey<ReturnType<typeof genAiLabels> & { gen_ai_token_type: string }>;
}

/** A route and provider's label sets (what a request served there is billed under). */
export interface PairLabels {
  /** By token direction. */
  readonly direction: ByKey<{ route: string; provider: string; model: string; direction: string }>;
  /** By arm. */
  readonly arm: ByKey<{ route: string; provider: string; model: string; arm: string }>;
  /** Requests by outcome, then arm. */
  readonly request: ByKey<ByKey<{ route: string; provider: string; model: string; outcome: string; arm: string }>>;
}

export const routeLabels = perObject((r: RouteConfig): RouteLabels => ({
  route: { route: r.name },
  arm: new ByKey((arm) => ({ route: r.name, arm })),
}));

export const providerLabels = perObject((p: ProviderConfig): ProviderLabels => {
  const genAi = genAiLabels(p);
  return {
    model: { provider: p.id, model: p.model },
    outcome: new ByKey((outcome) => ({ provider: p.id, model: p.model, outcome })),
    genAi,
    genAiOutcome: new ByKey((outcome) => ({ ...genAi, error_type: outcome === "success" ? "" : outcome })),
    genAiTokens: new ByKey((type) => ({ ...genAi, gen_ai_token_type: type })),
  };
});

const pairsOf = perObject((r: RouteConfig) =>
  perObject((p: ProviderConfig): PairLabels => {
    const base = { route: r.name, provider: p.id, model: p.model };
    return {
      direction: new ByKey((direction) => ({ ...base, direction })),
      arm: new ByKey((arm) => ({ ...base, arm })),
      request: new ByKey((outcome) => new ByKey((arm) => ({ ...base, outcome, arm }))),
    };
  }),
);

export function pairLabels(route: RouteConfig, provider: ProviderConfig): PairLabels {
  return pairsOf(route)(provider);
}

/** routewise_requests_total's labels. */
export function requestLabels(pair: PairLabels, outcome: string, arm: "policy" | "baseline") {
  return pair.request.get(outcome).get(arm);
}
