/**
 * Prompts for the proxy benchmark. The analyzer's cache key folds every digit to 0 (router/classify/featurize.ts
 * normalizeText), so prompts that differ only in a counter's digits all share a few keys and measure cache hits.
 * `uniquePrompt` encodes the counter in words instead, so every prompt is unique after normalisation;
 * `cachedPrompt` cycles a small fixed set, so after its first round every decision is a cache hit.
 */

const WORDS = [
  "amber", "birch", "cedar", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper", "kestrel", "lagoon",
  "maple", "nectar", "orchid", "pepper", "quartz", "raven", "saffron", "tundra", "umber", "violet", "willow", "yarrow",
  "acorn", "basil", "cobalt", "dune", "elm", "flint", "grove", "heron", "iris", "jade", "kelp", "lotus",
]; // prettier-ignore

/**
 * The number n written as words (base words.length, least significant first; default WORDS); distinct n give
 * distinct tags.
 */
export function wordTag(n: number, words: readonly string[] = WORDS): string {
  const out: string[] = [];
  let rest = n;
  do {
    out.push(words[rest % words.length] ?? "");
    rest = Math.floor(rest / words.length);
  } while (rest > 0);
  return out.join(" ");
}

/** Prompt n, unique after normalisation for every distinct n. */
export function uniquePrompt(n: number): string {
  return `Question ${wordTag(n)}: what is the capital of the country called ${wordTag(n)}? Answer briefly.`;
}

/** The fixed prompt set of the cached target. */
export const CACHED_PROMPTS = [
  "What is the capital of France? Answer briefly.",
  "Write a Python function that reverses a linked list.",
  "Summarise the plot of Hamlet in two sentences.",
  "Prove that the square root of two is irrational.",
  "Translate 'good morning' into Spanish and German.",
  "Explain why the sky is blue to a ten-year-old.",
  "List three differences between TCP and UDP.",
  "Write a haiku about autumn leaves.",
] as const;

export function cachedPrompt(n: number): string {
  return CACHED_PROMPTS[n % CACHED_PROMPTS.length] ?? "";
}
