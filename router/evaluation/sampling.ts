/**
 * The deterministic draws of ADR 10: `u(prefix, requestId)` is the first 8 bytes of sha256(prefix + requestId) read
 * as a big-endian integer / 2^64, so every replica decides the same for a request id. Judge sampling and the canary
 * use different prefixes, so the two draws are independent.
 */
import { createHash } from "node:crypto";
import type { RouteConfig } from "../config/types.js";
import type { Arm } from "../select/types.js";

export const EVALUATION_PREFIX = "routewise-eval:";
export const CANARY_PREFIX = "routewise-canary:";
/** Exploration (ADR 12): whether a request explores, and which feasible candidate it picks — two independent draws. */
export const EXPLORE_PREFIX = "routewise-explore:";
export const EXPLORE_PICK_PREFIX = "routewise-explore-pick:";

/** A uniform draw in [0,1) for the request id. */
export function draw(prefix: string, requestId: string): number {
  const digest = createHash("sha256")
    .update(prefix + requestId)
    .digest();
  return Number(digest.readBigUInt64BE(0)) / 2 ** 64;
}

/** Whether judge sampling takes this request (rate in [0,1]). */
export function sampled(requestId: string, sampleRate: number): boolean {
  return draw(EVALUATION_PREFIX, requestId) < sampleRate;
}

/** The rollout arm of a request: canary sends `canaryPercent`% (absent: 100) to the policy, shadow none, enforce all. */
export function rolloutArm(route: Pick<RouteConfig, "rollout" | "canaryPercent">, requestId: string): Arm {
  if (route.rollout === "enforce") return "policy";
  if (route.rollout === "shadow") return "baseline";
  return draw(CANARY_PREFIX, requestId) < (route.canaryPercent ?? 100) / 100 ? "policy" : "baseline";
}

/** The exploration draws of a request (select explores when `u < learning.exploration`; `pick` chooses). */
export function explorationDraws(requestId: string): { u: number; pick: number } {
  return { u: draw(EXPLORE_PREFIX, requestId), pick: draw(EXPLORE_PICK_PREFIX, requestId) };
}
