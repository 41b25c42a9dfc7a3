/** Cost accounting: exact from upstream usage, the baseline's cost from the same token counts. */
import type { Pricing } from "../config/types.js";
import { estimateTokens } from "../openai/tokens.js";
import type { Usage } from "../openai/types.js";

export interface TokenCounts {
  input: number;
  cachedInput: number;
  output: number;
  /** True when the upstream reported no usage and the counts were estimated. */
  estimated: boolean;
}

export function tokensFromUsage(
  usage: Usage | null | undefined,
  fallback: { promptChars: number; completionChars: number },
): TokenCounts {
  if (usage && Number.isFinite(usage.prompt_tokens) && Number.isFinite(usage.completion_tokens)) {
    const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
    return {
      input: usage.prompt_tokens,
      cachedInput: Math.min(cached, usage.prompt_tokens),
      output: usage.completion_tokens,
      estimated: false,
    };
  }
  return {
    input: estimateTokens(fallback.promptChars),
    cachedInput: 0,
    output: estimateTokens(fallback.completionChars),
    estimated: true,
  };
}

/** USD for the tokens at the given prices (cached input tokens at the cached price). */
export function costUSD(t: TokenCounts, p: Pricing): number {
  const uncached = t.input - t.cachedInput;
  return (uncached * p.inputPerMillion + t.cachedInput * p.cachedInputPerMillion + t.output * p.outputPerMillion) / 1e6;
}
