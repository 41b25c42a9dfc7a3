/**
 * Which route a requested model name means, and the selection for a client that addresses a provider's model
 * directly (routes with exposeProviderModels): no routing, that provider only.
 */
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import type { Snapshot } from "../config/snapshot.js";
import type { Selection } from "./types.js";

export interface ResolvedModel {
  route: RouteConfig;
  /** Set when the model names a provider's model directly. */
  pinned: ProviderConfig | null;
}

/** Route names win over provider model ids; null when the model is unknown. */
export function resolveModel(snap: Snapshot, model: string): ResolvedModel | null {
  const route = snap.routes.get(model);
  if (route) return { route, pinned: null };
  const direct = snap.direct.get(model);
  return direct ? { route: direct.route, pinned: direct.provider } : null;
}

export function pinnedSelection(
  providers: ReadonlyMap<string, ProviderConfig>,
  route: RouteConfig,
  provider: ProviderConfig,
): Selection {
  const baseline = providers.get(route.baseline) ?? provider;
  return {
    ok: true,
    arm: "policy",
    order: [provider],
    decided: provider,
    reason: "pinned",
    explanation: `pinned; model=${provider.model}`,
    predictedQuality: provider.quality.score,
    predict: (p) => p.quality.score,
    baselineQuality: baseline.quality.score,
    baseline,
    propensity: 1,
    explored: false,
  };
}
