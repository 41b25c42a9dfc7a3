/**
 * A cascade replayed on a row's recorded answers, as the router runs it (router/http/chat-completions.ts
 * cascadePlan, router/dispatch/cascade.ts): only for rows the policy decided (rollout arm policy, no rule), the
 * configured stages selection left usable and cheaper than the route's choice, in order; each stage's recorded
 * answer goes through the route's verifiers (router/verify checkAnswer) with the analyzer's task; the first accepted
 * answer is served, else the route's choice answers. Every stage asked is paid for. The `judge` verifier needs a
 * model call and is not replayed (checkAnswer skips it); a stage with no recorded answer escalates like an error.
 */
import type { ProviderConfig } from "../../router/config/types.js";
import type { Selection } from "../../router/select/types.js";
import { checkAnswer } from "../../router/verify/run.js";
import type { VerifyInput } from "../../router/verify/types.js";
import type { RowContext } from "./learner.js";
import type { ModelMap } from "./mapping.js";
import type { SimRow } from "./rows.js";
import type { Outcome } from "./types.js";

export interface CascadeResult {
  /** The stage whose answer was served, or null when every stage escalated. */
  accepted: string | null;
  /** Stages asked, in order. */
  stages: string[];
  score: number;
  cost: number;
}

export interface CascadeContext extends RowContext {
  selection: Selection;
  chosen: ProviderConfig;
  models: ModelMap;
  byProvider: Record<string, Outcome>;
}

const price = (p: ProviderConfig): number => p.pricing.inputPerMillion + p.pricing.outputPerMillion;

export function cascadeStages(c: CascadeContext): ProviderConfig[] {
  const cascade = c.route.strategy === "cascade" ? c.route.cascade : null;
  const { selection, chosen } = c;
  if (!cascade || selection.arm !== "policy" || selection.reason.startsWith("rule:")) return [];
  const usable = new Map(selection.order.map((p) => [p.id, p]));
  return cascade.stages.flatMap((id) => {
    const p = usable.get(id);
    return p && p.id !== chosen.id && price(p) < price(chosen) ? [p] : [];
  });
}

/** Null when the row does not cascade (no stages for it, or the row records no answers). */
export function cascadeOnRow(row: SimRow, c: CascadeContext): CascadeResult | null {
  const cascade = c.route.cascade;
  const stages = cascadeStages(c);
  if (!cascade || stages.length === 0 || row.responses === null) return null;
  let cost = 0;
  const asked: string[] = [];
  for (const stage of stages) {
    const outcome = c.byProvider[stage.id];
    if (!outcome) continue;
    asked.push(stage.id);
    cost += outcome.cost;
    if (accepts(row, c, stage)) return { accepted: stage.id, stages: asked, score: outcome.score, cost };
  }
  const final = c.byProvider[c.chosen.id];
  if (!final) return null;
  return { accepted: null, stages: asked, score: final.score, cost: cost + final.cost };
}

function accepts(row: SimRow, c: CascadeContext, stage: ProviderConfig): boolean {
  const cascade = c.route.cascade;
  const model = c.models.get(stage.id);
  const content = model === undefined ? undefined : row.responses?.[model];
  if (!cascade || content === undefined) return false;
  const input: VerifyInput = {
    request: { model: stage.model, messages: [{ role: "user", content: row.prompt }] },
    answer: { content, toolCalls: [], finishReason: "stop", logprobs: null },
    task: c.classification.task,
  };
  return checkAnswer(cascade.verifiers, input, cascade).accepted;
}
