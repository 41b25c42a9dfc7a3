/**
 * `logprobs`: rejects an answer whose mean token log-probability is below a threshold (a model unsure of what it
 * wrote). Abstains when the provider returned no log-probabilities. The default threshold and how it was chosen
 * are in analyzer/MODEL_CARD.md ("Cascade verifiers"); a route can set its own.
 */
import { abstain, accept, reject, type Verifier } from "./types.js";

export function logprobsVerifier(threshold: number): Verifier {
  return ({ answer }) => {
    const lp = answer.logprobs;
    if (lp === null || lp.length === 0) return abstain("no_logprobs");
    const mean = lp.reduce((a, b) => a + b, 0) / lp.length;
    return mean < threshold ? reject("low_confidence") : accept("confident");
  };
}
