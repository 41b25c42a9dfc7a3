/** Token estimates, used only when an upstream reports no usage (and for routing before a request is sent). */

/** Roughly 4 characters per token for English text and code. */
export const CHARS_PER_TOKEN = 4;

export function estimateTokens(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN);
}
