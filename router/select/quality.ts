/**
 * Predicted quality of a model on one request, from the provider's declared score and the request's difficulty.
 *
 * An item-response model: a model of ability θ answers a prompt of difficulty b well with probability
 * σ(θ − b). Ability comes from the declared 0–100 score (10 points = 1 logit, 50 = 0); difficulty in [0,1] maps
 * linearly to b ∈ [−2, 6], so an easy prompt is answered well by every model and a hard one separates them.
 * Predicted quality is that probability on the 0–100 scale, so it can be compared with the baseline's.
 */
import type { Domain, ProviderConfig } from "../config/types.js";

export const ABILITY_SCALE = 10;
export const DIFFICULTY_MIN_LOGIT = -2;
export const DIFFICULTY_MAX_LOGIT = 6;

export function declaredScore(p: ProviderConfig, domain: Domain): number {
  return p.quality.domains[domain] ?? p.quality.score;
}

export function predictQuality(score: number, difficulty: number): number {
  const ability = (score - 50) / ABILITY_SCALE;
  const b = DIFFICULTY_MIN_LOGIT + (DIFFICULTY_MAX_LOGIT - DIFFICULTY_MIN_LOGIT) * clamp01(difficulty);
  return 100 / (1 + Math.exp(-(ability - b)));
}

export function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}
