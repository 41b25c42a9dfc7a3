/**
 * OpenAI-compatible upstreams (OpenAI, vLLM, Ollama, Together, Groq, …): Bearer key, {baseURL}/chat/completions and
 * /embeddings, and {baseURL}/responses for providers that declare the Responses API (responses.ts).
 */
import type { HttpClient } from "../shared/http.js";
import { createOpenAICompatibleAdapter } from "../shared/openai-compatible.js";
import type { ProviderAdapter } from "../types.js";
import { responsesCalls } from "./responses.js";
import { openAIBody, openAIEmbeddingsEndpoint, openAIEndpoint } from "./translate.js";

export interface OpenAIAdapterDeps {
  http: HttpClient;
}

export function createOpenAIAdapter(deps: OpenAIAdapterDeps): ProviderAdapter {
  const chat = createOpenAICompatibleAdapter(deps.http, {
    endpoint: openAIEndpoint,
    authHeader: "authorization",
    body: openAIBody,
    embeddingsEndpoint: openAIEmbeddingsEndpoint,
  });
  return { ...chat, ...responsesCalls(deps.http) };
}
