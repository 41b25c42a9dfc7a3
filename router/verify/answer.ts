/** The Answer a verifier sees, read from a chat completion's first choice (tolerant of what providers omit). */
import { isRecord } from "../config/json.js";
import type { ChatCompletion } from "../openai/types.js";
import type { Answer, ToolCall } from "./types.js";

export function answerOf(completion: ChatCompletion): Answer {
  const choice = completion.choices[0];
  if (!isRecord(choice)) return { content: "", toolCalls: [], finishReason: null, logprobs: null };
  const message = isRecord(choice["message"]) ? choice["message"] : {};
  return {
    content: typeof message["content"] === "string" ? message["content"] : "",
    toolCalls: toolCallsOf(message["tool_calls"]),
    finishReason: typeof choice["finish_reason"] === "string" ? choice["finish_reason"] : null,
    logprobs: logprobsOf(choice["logprobs"]),
  };
}

function toolCallsOf(raw: unknown): ToolCall[] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((call): ToolCall[] => {
    const fn = isRecord(call) && isRecord(call["function"]) ? call["function"] : null;
    if (!fn || typeof fn["name"] !== "string") return [];
    return [{ name: fn["name"], arguments: typeof fn["arguments"] === "string" ? fn["arguments"] : "" }];
  });
}

function logprobsOf(raw: unknown): number[] | null {
  if (!isRecord(raw) || !Array.isArray(raw["content"])) return null;
  const values = raw["content"].flatMap((t) => (isRecord(t) && typeof t["logprob"] === "number" ? [t["logprob"]] : []));
  return values.length > 0 ? values : null;
}
