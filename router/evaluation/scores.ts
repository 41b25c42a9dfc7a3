/** Two-position averaging: each side's score is the mean of its grade in position A and in position B. */
import type { Verdict } from "./verdict.js";

export interface SampleScores {
  routed: number;
  baseline: number;
}

/** Both sides at the top score: the answers are the same (structurally equal, or the baseline answered). */
export const EQUAL_SCORES: SampleScores = { routed: 10, baseline: 10 };

/** `first`: routed in position A, baseline in B; `second`: the positions swapped. */
export function averageScores(first: Verdict, second: Verdict): SampleScores {
  return { routed: (first.scoreA + second.scoreB) / 2, baseline: (first.scoreB + second.scoreA) / 2 };
}
