/** Labels of the OpenTelemetry GenAI semantic-convention metrics for one provider. */
import type { ProviderConfig } from "../config/types.js";

export function genAiLabels(p: ProviderConfig) {
  return {
    gen_ai_operation_name: "chat",
    gen_ai_provider_name: p.type === "azure-openai" ? "azure.ai.openai" : p.type,
    gen_ai_request_model: p.model,
    gen_ai_response_model: p.model,
  };
}
