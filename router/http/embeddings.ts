/**
 * POST /v1/embeddings: the route (or provider-direct model) the model names → its candidates that serve
 * embeddings, cheapest first, no classification (select/embeddings.ts) → the attempt loop → the upstream's list
 * of embeddings. Input tokens and cost go to the request record, which writes the access-log line.
 */
import type { ServerResponse } from "node:http";
import type { TokenCounts } from "../accounting/cost.js";
import type { RequestRecord } from "../accounting/request-record.js";
import { clientError, lastTried } from "../dispatch/client-error.js";
import { fellBackFrom } from "../dispatch/dispatch.js";
import { dispatchEmbeddings } from "../dispatch/embeddings.js";
import { parseEmbeddingRequest, type EmbeddingResponse, type ParsedEmbeddingRequest } from "../openai/embeddings.js";
import { embeddingSelection } from "../select/embeddings.js";
import type { Selection } from "../select/types.js";
import type { RouteConfig } from "../config/types.js";
import { rejectedIn, requestLifetime, type ChatDeps, type ChatHandler } from "./chat-completions.js";
import { formatUSD, setRoutingHeaders, traceContext } from "./headers.js";
import { sendJson } from "./respond.js";
import { admission, admittedRoute, refusal } from "./route-request.js";
import { estimateCost } from "../select/rank.js";
import {
  BUDGET_REMAINING_HEADER,
  judgeRequest,
  remainingAfter,
  startBudgets,
  type BudgetAdmission,
} from "./budget-admission.js";

export function createEmbeddingsHandler(deps: ChatDeps): ChatHandler {
  return async (req, res, body) => {
    const record = deps.record(res.getHeader("x-request-id") as string, traceContext(req));
    record.describe({ endpoint: "embeddings" });
    try {
      const { snap, principal } = admission(deps, req, record);
      const parsed = parseEmbeddingRequest(body);
      const { route, pinned } = admittedRoute(snap, parsed.body.model, principal);
      const selection = embeddingSelection(snap.providers, route, pinned);
      if (!selection.ok) throw refusal(selection);
      record.describe({ promptTokens: parsed.inputTokens });
      // Budgets refuse a spent key's embeddings; they have no cheaper candidate to step down to.
      const budgets = startBudgets(deps.state, snap, principal, route, record);
      const estimate = { promptTokens: parsed.inputTokens, maxOutputTokens: 0 };
      const cheapest = Math.min(...selection.order.map((p) => estimateCost(p, estimate)));
      const budget = budgets ? await judgeRequest(budgets, cheapest, { record, now: deps.now() }) : null;
      record.decided(route, selection, 0);
      await serve(deps, res, { route, selection, parsed, budget }, record);
    } catch (err) {
      rejectedIn(record, err);
      throw err;
    } finally {
      record.end();
    }
  };
}

interface Decided {
  route: RouteConfig;
  selection: Selection;
  parsed: ParsedEmbeddingRequest;
  budget: BudgetAdmission | null;
}

async function serve(deps: ChatDeps, res: ServerResponse, d: Decided, record: RequestRecord): Promise<void> {
  const { route, selection, parsed } = d;
  const ctx = {
    route,
    order: selection.order,
    requestId: record.requestId,
    lifetime: requestLifetime(res, route),
    record,
  };
  const result = await dispatchEmbeddings(deps.dispatch, ctx, parsed.body);
  if (!result.ok) {
    const { error, outcome } = clientError(route, selection.order, result);
    record.failed({ provider: lastTried(selection.order, result.failures, selection.decided), code: outcome });
    throw error;
  }
  const tokens = embeddingTokens(result.value, parsed);
  const costs = record.finished({
    provider: result.provider,
    tokens,
    outcome: "success",
    fallbacks: fellBackFrom(result).length,
  });
  setRoutingHeaders(res, route, selection, result);
  res.setHeader("x-routewise-cost-usd", formatUSD(costs.cost));
  res.setHeader("x-routewise-baseline-cost-usd", formatUSD(costs.baseline));
  if (d.budget) res.setHeader(BUDGET_REMAINING_HEADER, remainingAfter(d.budget, costs.cost));
  if (tokens.estimated) res.setHeader("x-routewise-usage-estimated", "true");
  const usage = result.value.usage ?? { prompt_tokens: tokens.input, total_tokens: tokens.input };
  sendJson(res, 200, { ...result.value, usage });
}

/** Input tokens only: the upstream's usage, else the request's estimate. */
function embeddingTokens(body: EmbeddingResponse, parsed: ParsedEmbeddingRequest): TokenCounts {
  if (body.usage) return { input: body.usage.prompt_tokens, cachedInput: 0, output: 0, estimated: false };
  return { input: parsed.inputTokens, cachedInput: 0, output: 0, estimated: true };
}
