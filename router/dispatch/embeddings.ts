/** Embeddings through the one attempt loop (dispatch.ts): the route's retries, fallbacks, timeouts and breakers. */
import type { EmbeddingRequest, EmbeddingResponse } from "../openai/embeddings.js";
import { UpstreamError } from "../providers/types.js";
import { callAttempt, runAttempts, type AttemptContext, type DispatchDeps, type DispatchResult } from "./dispatch.js";

export function dispatchEmbeddings(
  deps: DispatchDeps,
  ctx: AttemptContext,
  request: EmbeddingRequest,
): Promise<DispatchResult<EmbeddingResponse>> {
  return runAttempts(
    deps,
    ctx,
    callAttempt(deps, ctx, async (provider, options) => {
      const adapter = deps.adapters[provider.type];
      if (!adapter.embed)
        throw new UpstreamError("request", `${provider.id}: the ${provider.type} API has no embeddings`);
      return (await adapter.embed(provider, { ...request, model: provider.model }, options)).body;
    }),
  );
}
