/** Azure OpenAI: deployment URL with api-version, `api-key` header, OpenAI wire format. */
import type { HttpClient } from "../shared/http.js";
import { createOpenAICompatibleAdapter } from "../shared/openai-compatible.js";
import type { ProviderAdapter } from "../types.js";
import { azureBody, azureEmbeddingsEndpoint, azureEndpoint } from "./translate.js";

export interface AzureOpenAIAdapterDeps {
  http: HttpClient;
}

export function createAzureOpenAIAdapter(deps: AzureOpenAIAdapterDeps): ProviderAdapter {
  return createOpenAICompatibleAdapter(deps.http, {
    endpoint: azureEndpoint,
    authHeader: "api-key",
    body: azureBody,
    embeddingsEndpoint: azureEmbeddingsEndpoint,
  });
}
