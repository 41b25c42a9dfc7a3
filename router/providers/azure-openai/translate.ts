/**
 * Azure OpenAI request mapping: POST {baseURL}/openai/deployments/{deployment}/chat/completions?api-version=…
 * with the key in `api-key`. The body is the OpenAI one (Azure ignores `model`; the deployment decides).
 * Without an `azure` block the deployment falls back to `provider.model` and the API version to
 * DEFAULT_AZURE_API_VERSION. (For Azure's OpenAI-compatible /openai/v1 API use type "openai".)
 */
import type { ProviderConfig } from "../../config/types.js";
import { splitBaseURL, type Endpoint } from "../shared/http.js";
import { jsonHeaders } from "../openai/translate.js";

export { openAIBody as azureBody } from "../openai/translate.js";

export const DEFAULT_AZURE_API_VERSION = "2024-10-21";

export function azureEndpoint(provider: ProviderConfig): Endpoint {
  return deploymentEndpoint(provider, "chat/completions");
}

/** POST {baseURL}/openai/deployments/{deployment}/embeddings?api-version=… (an embedding model's deployment). */
export function azureEmbeddingsEndpoint(provider: ProviderConfig): Endpoint {
  return deploymentEndpoint(provider, "embeddings");
}

function deploymentEndpoint(provider: ProviderConfig, operation: string): Endpoint {
  const { origin, prefix } = splitBaseURL(provider.baseURL);
  const deployment = encodeURIComponent(provider.azure?.deployment ?? provider.model);
  const version = encodeURIComponent(provider.azure?.apiVersion ?? DEFAULT_AZURE_API_VERSION);
  return {
    origin,
    path: `${prefix}/openai/deployments/${deployment}/${operation}?api-version=${version}`,
    headers: jsonHeaders(provider),
  };
}
