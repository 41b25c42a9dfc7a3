/**
 * Which request parameters each provider type can honour, beyond the declared capabilities (rank.ts): several
 * choices (`n` > 1), token `logprobs`, and a strict `json_schema` response format. A candidate that cannot honour
 * what the request asks for is excluded; when none is left the request is refused with a 400 naming the
 * parameter, never answered with the parameter silently dropped. Pure.
 *
 * OpenAI-compatible APIs (openai, azure-openai) and the simulated provider take all three as they are. Anthropic's
 * Messages API returns one message, has no logprobs, and has no constrained JSON decoding in the API version the
 * adapter speaks (a json_object or non-strict json_schema format is a best-effort system instruction there).
 */
import type { ProviderConfig, ProviderType } from "../config/types.js";
import { failure, type RequestFeatures, type SelectionFailure } from "./types.js";

export interface ParameterSupport {
  /** `n` > 1: several choices in one answer. */
  choices: boolean;
  /** `logprobs: true` / `top_logprobs`. */
  logprobs: boolean;
  /** `response_format: {type: "json_schema", json_schema: {strict: true}}`, enforced by the upstream. */
  strictSchema: boolean;
}

const ALL: ParameterSupport = { choices: true, logprobs: true, strictSchema: true };

export const PARAMETER_SUPPORT: Record<ProviderType, ParameterSupport> = {
  openai: ALL,
  "azure-openai": ALL,
  simulated: ALL,
  anthropic: { choices: false, logprobs: false, strictSchema: false },
};

/** The refusal for the first parameter of the request the provider cannot honour, or null. */
export function parameterGap(
  p: Pick<ProviderConfig, "type" | "id">,
  r: Pick<RequestFeatures, "choices" | "needsLogprobs" | "needsStrictSchema">,
): SelectionFailure | null {
  const s = PARAMETER_SUPPORT[p.type];
  if ((r.choices ?? 1) > 1 && !s.choices)
    return failure(400, "n_not_supported", "n", `n > 1 (${r.choices ?? 1} choices) is not supported by ${p.id}`);
  if (r.needsLogprobs === true && !s.logprobs)
    return failure(400, "logprobs_not_supported", "logprobs", `logprobs are not supported by ${p.id}`);
  if (r.needsStrictSchema === true && !s.strictSchema) {
    const message = `a strict json_schema response_format is not enforced by ${p.id}`;
    return failure(400, "json_schema_not_supported", "response_format", message);
  }
  return null;
}
