/**
 * A whole answer both ways: an Anthropic message ⇄ an OpenAI chat completion. Pure.
 *
 * Anthropic → OpenAI (the provider adapter): text blocks → content; tool_use blocks → tool_calls; stop_reason →
 * finish_reason; usage → prompt_tokens = input + cache_creation + cache_read tokens, cached_tokens = cache_read.
 * Thinking blocks are not forwarded.
 *
 * OpenAI → Anthropic (the /v1/messages endpoint): choice 0's content → a text block, its tool_calls → tool_use
 * blocks, finish_reason → stop_reason, the billed tokens → usage.
 */
import { isRecord, str } from "../config/json.js";
import { contentText } from "../openai/content.js";
import type { ChatCompletion, JsonObject } from "../openai/types.js";
import {
  finishReason,
  readUsage,
  stopReason,
  toAnthropicUsage,
  toolInput,
  toOpenAIUsage,
  type AnthropicUsage,
  type BilledTokens,
  type Block,
} from "./tables.js";

export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** A non-streaming Anthropic message as an OpenAI completion, or null when the value is not a message. */
export function fromAnthropicMessage(value: unknown, createdSec: number): ChatCompletion | null {
  if (!isRecord(value) || !Array.isArray(value["content"])) return null;
  const message = assistantMessage(value["content"]);
  const usage: AnthropicUsage = { input: 0, output: 0, cacheCreation: 0, cacheRead: 0 };
  readUsage(value["usage"], usage);
  return {
    id: str(value["id"]) ?? "",
    object: "chat.completion",
    created: createdSec,
    model: str(value["model"]) ?? "",
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(value["stop_reason"]) ?? "stop" }],
    usage: toOpenAIUsage(usage),
  };
}

/** Anthropic content blocks as one OpenAI assistant message: the text joined, tool_use blocks as tool_calls. */
function assistantMessage(content: unknown[]): JsonObject {
  let text: string | null = null;
  const toolCalls: ToolCall[] = [];
  for (const block of content) {
    if (!isRecord(block)) continue;
    if (block["type"] === "text") text = (text ?? "") + (str(block["text"]) ?? "");
    else if (block["type"] === "tool_use") toolCalls.push(toolCall(block));
  }
  const message: JsonObject = { role: "assistant", content: text ?? (toolCalls.length > 0 ? null : ""), refusal: null };
  if (toolCalls.length > 0) message["tool_calls"] = toolCalls;
  return message;
}

function toolCall(block: JsonObject): ToolCall {
  const input = block["input"];
  return {
    id: str(block["id"]) ?? "",
    type: "function",
    function: { name: str(block["name"]) ?? "", arguments: JSON.stringify(isRecord(input) ? input : {}) },
  };
}

/** An OpenAI completion as an Anthropic message (choice 0; Anthropic has one), with the billed tokens as usage. */
export function toAnthropicMessage(completion: ChatCompletion, tokens: BilledTokens): JsonObject {
  const choice = completion.choices[0];
  const message = isRecord(choice) && isRecord(choice["message"]) ? choice["message"] : {};
  return {
    id: completion.id,
    type: "message",
    role: "assistant",
    model: completion.model,
    content: contentBlocks(message),
    stop_reason: stopReason(isRecord(choice) ? choice["finish_reason"] : undefined),
    stop_sequence: null,
    usage: toAnthropicUsage(tokens),
  };
}

function contentBlocks(message: JsonObject): Block[] {
  const blocks: Block[] = [];
  const text = contentText(message["content"]);
  if (text.length > 0) blocks.push({ type: "text", text });
  const calls = message["tool_calls"];
  for (const call of Array.isArray(calls) ? calls : []) {
    if (!isRecord(call) || !isRecord(call["function"])) continue;
    const fn = call["function"];
    blocks.push({
      type: "tool_use",
      id: str(call["id"]) ?? "",
      name: str(fn["name"]) ?? "",
      input: toolInput(fn["arguments"]),
    });
  }
  return blocks;
}
