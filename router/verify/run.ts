/**
 * Runs a cascade's built-in verifiers on one answer, in the configured order; the first rejection decides. The
 * `judge` verifier needs a model call and is run by the cascade itself after these accept.
 */
import type { VerifierName } from "../config/types.js";
import { logprobsVerifier } from "./logprobs.js";
import { verifyMath } from "./math.js";
import { verifyRefusal } from "./refusal.js";
import { verifyStructure } from "./structure.js";
import type { Verifier, VerifyInput } from "./types.js";

export type Check = { accepted: true } | { accepted: false; verifier: VerifierName; reason: string };

export interface CheckOptions {
  logprobsThreshold: number;
}

export function checkAnswer(names: readonly VerifierName[], input: VerifyInput, options: CheckOptions): Check {
  for (const name of names) {
    const verifier = builtin(name, options);
    if (!verifier) continue;
    const verdict = verifier(input);
    if (verdict.verdict === "reject") return { accepted: false, verifier: name, reason: verdict.reason };
  }
  return { accepted: true };
}

function builtin(name: VerifierName, options: CheckOptions): Verifier | null {
  switch (name) {
    case "structure":
      return verifyStructure;
    case "math":
      return verifyMath;
    case "refusal":
      return verifyRefusal;
    case "logprobs":
      return logprobsVerifier(options.logprobsThreshold);
    case "judge":
      return null;
  }
}
