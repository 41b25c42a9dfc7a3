/** Embeddings through the one attempt loop (dispatch.ts): the route's retries, fallbacks, timeouts and breakers. */
import type { EmbeddingRequest, EmbeddingResponse } from "../openai/embeddings.js";
import { UpstreamError } from "../providers/types.js";
import { callOptions, runAttempts, type AttemptContext, type DispatchDeps, type DispatchResult } from "./dispatch.js";

export function dispatchEmbeddings(
  deps: DispatchDeps,
  ctx: AttemptContext,
  request: EmbeddingRequest,
): Promise<DispatchResult<EmbeddingResponse>> {
  return runAttempts(deps, ctx, async (provider, scope, attempt, release) => {
    try {
      const adapter = deps.adapters[provider.type];
      if (!adapter.embed)
        throw new UpstreamError("request", `${provider.id}: the ${provider.type} API has no embeddings`);
      const result = await adapter.embed(
        provider,
        { ...request, model: provider.model },
        callOptions(deps, attempt, ctx, scope.signal),
      );
      ctx.record.attemptEnded(attempt, "success");
      return result.body;
    } finally {
      scope.dispose();
      release();
    }
  });
}
