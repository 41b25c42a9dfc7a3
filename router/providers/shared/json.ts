/** Small checks for JSON that arrives from the network as `unknown`. */
import { isRecord } from "../../config/json.js";
import type { Usage } from "../../openai/types.js";

export { count, str } from "../../config/json.js";

/** An OpenAI `usage` object, or null when the value is not one. */
export function toUsage(value: unknown): Usage | null {
  if (!isRecord(value)) return null;
  const prompt = value["prompt_tokens"];
  const completion = value["completion_tokens"];
  if (typeof prompt !== "number" || typeof completion !== "number") return null;
  const total = value["total_tokens"];
  const usage: Usage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: typeof total === "number" ? total : prompt + completion,
  };
  const details = value["prompt_tokens_details"];
  if (isRecord(details) && typeof details["cached_tokens"] === "number") {
    usage.prompt_tokens_details = { cached_tokens: details["cached_tokens"] };
  }
  return usage;
}
