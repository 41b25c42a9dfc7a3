/**
 * OpenAI-compatible request mapping: the body is the client's, with the provider's upstream model, and for
 * streams `stream_options.include_usage: true` (always, so cost accounting sees usage; the HTTP layer decides
 * whether the client gets that chunk). Unknown fields pass through.
 */
import type { ProviderConfig } from "../../config/types.js";
import type { ChatRequest } from "../../openai/types.js";
import { lowerCaseHeaders, splitBaseURL, type Endpoint } from "../shared/http.js";
import { isRecord } from "../../config/json.js";

/** POST {baseURL}/chat/completions. */
export function openAIEndpoint(provider: ProviderConfig): Endpoint {
  const { origin, prefix } = splitBaseURL(provider.baseURL);
  return { origin, path: `${prefix}/chat/completions`, headers: jsonHeaders(provider) };
}

/** POST {baseURL}/embeddings. */
export function openAIEmbeddingsEndpoint(provider: ProviderConfig): Endpoint {
  const { origin, prefix } = splitBaseURL(provider.baseURL);
  return { origin, path: `${prefix}/embeddings`, headers: jsonHeaders(provider) };
}

export function jsonHeaders(provider: ProviderConfig): Record<string, string> {
  return { ...lowerCaseHeaders(provider.headers), "content-type": "application/json" };
}

/** The upstream JSON body. Undefined values are dropped by JSON.stringify, so one shallow copy suffices. */
export function openAIBody(provider: ProviderConfig, request: ChatRequest, stream: boolean): string {
  if (!stream)
    return JSON.stringify({ ...request, model: provider.model, stream: undefined, stream_options: undefined });
  const asked = request["stream_options"];
  const streamOptions = isRecord(asked) ? { ...asked, include_usage: true } : { include_usage: true };
  return JSON.stringify({ ...request, model: provider.model, stream: true, stream_options: streamOptions });
}
