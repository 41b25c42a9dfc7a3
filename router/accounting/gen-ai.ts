/** The OpenTelemetry GenAI semantic conventions: metric labels and span attribute names, defined once. */
import type { ProviderConfig } from "../config/types.js";

/** gen_ai.provider.name for a provider type. */
export function genAiProviderName(p: Pick<ProviderConfig, "type">): string {
  return p.type === "azure-openai" ? "azure.ai.openai" : p.type;
}

export function genAiLabels(p: ProviderConfig) {
  return {
    gen_ai_operation_name: "chat",
    gen_ai_provider_name: genAiProviderName(p),
    gen_ai_request_model: p.model,
    gen_ai_response_model: p.model,
  };
}

/**
 * GenAI span attributes (semantic-conventions' incubating set, spelled here so an upgrade of that package cannot
 * rename them under us).
 */
export const GEN_AI = {
  OPERATION_NAME: "gen_ai.operation.name",
  PROVIDER_NAME: "gen_ai.provider.name",
  REQUEST_MODEL: "gen_ai.request.model",
  RESPONSE_MODEL: "gen_ai.response.model",
  USAGE_INPUT_TOKENS: "gen_ai.usage.input_tokens",
  USAGE_OUTPUT_TOKENS: "gen_ai.usage.output_tokens",
} as const;

/** The GenAI operation every chat completion is. */
export const CHAT_OPERATION = "chat";
