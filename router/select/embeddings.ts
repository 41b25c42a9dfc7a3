/**
 * Selection for POST /v1/embeddings. No classification: an embedding is not an answer whose quality depends on
 * the prompt's difficulty, so the route's candidates that serve embeddings (ModelProvider
 * spec.capabilities.embeddings, on a type whose API has them: not anthropic) are tried cheapest input price first
 * (ties in the route's order), with the route's retries and fallbacks. A provider-direct model is that provider
 * alone. Pure.
 */
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import { failure, type Selection, type SelectionFailure } from "./types.js";

export function servesEmbeddings(p: ProviderConfig): boolean {
  return p.capabilities.embeddings === true && p.type !== "anthropic";
}

export function embeddingSelection(
  providers: ReadonlyMap<string, ProviderConfig>,
  route: RouteConfig,
  pinned: ProviderConfig | null,
): Selection | SelectionFailure {
  const pool = pinned ? [pinned] : route.candidates.flatMap((c) => providers.get(c.provider) ?? []);
  const order = pool
    .filter(servesEmbeddings)
    .map((p, i) => ({ p, i }))
    .sort((a, b) => a.p.pricing.inputPerMillion - b.p.pricing.inputPerMillion || a.i - b.i)
    .map(({ p }) => p);
  const decided = order[0];
  if (!decided) {
    const what = pinned ? `model ${pinned.model} (${pinned.id}) does not` : `no candidate of route ${route.name} does`;
    const message = `${what} serve embeddings (ModelProvider spec.capabilities.embeddings)`;
    return failure(400, "embeddings_not_supported", "model", message);
  }
  const base = providers.get(route.baseline);
  const baseline = base && servesEmbeddings(base) ? base : decided;
  return {
    ok: true,
    arm: "policy",
    order,
    decided,
    reason: pinned ? "pinned" : "embeddings",
    explanation: pinned ? `pinned; model=${decided.model}` : "embeddings; cheapest-serving",
    predictedQuality: decided.quality.score,
    predict: (p) => p.quality.score,
    baselineQuality: baseline.quality.score,
    baseline,
    propensity: 1,
    explored: false,
  };
}
