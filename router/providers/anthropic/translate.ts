/**
 * OpenAI Chat Completions ⇄ Anthropic Messages (anthropic-version 2023-06-01) for this adapter. The pure wire
 * translation lives in router/anthropic-wire/ (shared with the /v1/messages endpoint, which translates the other
 * way); what is the provider's is here: its model, and max_completion_tokens | max_tokens (default
 * DEFAULT_MAX_TOKENS, capped by the provider's maxOutputTokens).
 */
import type { ProviderConfig } from "../../config/types.js";
import type { ChatRequest, JsonObject } from "../../openai/types.js";
import { toAnthropicBody } from "../../anthropic-wire/to-anthropic.js";

export const DEFAULT_MAX_TOKENS = 4096;

export function toAnthropicRequest(provider: ProviderConfig, request: ChatRequest, stream: boolean): JsonObject {
  return toAnthropicBody(request, { model: provider.model, maxTokens: maxTokens(provider, request), stream });
}

function maxTokens(provider: ProviderConfig, request: ChatRequest): number {
  const asked = request["max_completion_tokens"] ?? request["max_tokens"];
  if (typeof asked === "number" && asked > 0) return Math.floor(asked);
  return provider.maxOutputTokens > 0 ? Math.min(DEFAULT_MAX_TOKENS, provider.maxOutputTokens) : DEFAULT_MAX_TOKENS;
}
