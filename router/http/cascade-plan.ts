/** Which cascade stages a routed request tries before the route's normal choice answers (ADR 11). */
import type { ProviderConfig } from "../config/types.js";
import type { Routed } from "./route-request.js";

/**
 * The stages this request tries: the route's cascade stages that selection left usable for it (capable, healthy,
 * not excluded), cheaper than the provider the route would choose, which answers after them. None when the
 * request went to the baseline by rollout, was pinned, or a rule decided.
 */
export function cascadePlan(r: Routed) {
  const cascade = r.route.strategy === "cascade" ? r.route.cascade : null;
  const chosen = r.selection.order[0];
  if (!cascade || !chosen || r.selection.arm !== "policy" || r.task === null || r.selection.reason.startsWith("rule:"))
    return null;
  const usable = new Map(r.selection.order.map((p) => [p.id, p]));
  const stages = cascade.stages.flatMap((id) => {
    const p = usable.get(id);
    return p && p.id !== chosen.id && price(p) < price(chosen) ? [p] : [];
  });
  if (stages.length === 0) return null;
  const judge = cascade.judge === null ? null : (r.providers.get(cascade.judge) ?? null);
  return { cascade, stages, judge, task: r.task };
}

function price(p: ProviderConfig): number {
  return p.pricing.inputPerMillion + p.pricing.outputPerMillion;
}
