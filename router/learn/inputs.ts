/**
 * What select() needs from a learning route for one request (ADR 12): the request's segment (for the learned table
 * and the log line) and, when the route explores, the two exploration draws. Shared by the router (draws from the
 * request id) and `routewise simulate` (draws from its seed), so both decide alike.
 */
import type { Classification } from "../classify/types.js";
import type { RouteConfig } from "../config/types.js";
import { effectiveDifficulty, matchedRule } from "../select/rank.js";
import type { RequestFeatures } from "../select/types.js";
import { segmentKey, segmentOf } from "./segment.js";

export interface LearningInputs {
  segment?: string;
  exploration?: { u: number; pick: number };
}

export function learningInputs(
  route: RouteConfig,
  c: Classification,
  request: RequestFeatures,
  draws: () => { u: number; pick: number },
): LearningInputs {
  if (!route.learning && !route.learned) return {};
  const difficulty = effectiveDifficulty(c, route.objective.minConfidence);
  const rule = matchedRule(route, c, request)?.name ?? null;
  const segment = segmentKey(segmentOf(route, request, { task: c.task, difficulty }, rule));
  const explores = (route.learning?.exploration ?? 0) > 0;
  return explores ? { segment, exploration: draws() } : { segment };
}
