/**
 * Anthropic Messages request → the OpenAI chat request the router routes (the /v1/messages endpoint). Pure; a body
 * it cannot translate is a 400 HttpError naming the field.
 *
 * system (a string or text blocks) → a system message; user turns → tool messages for their tool_result blocks,
 * then a user message with their text and image blocks (base64 sources as data URLs); assistant turns → content
 * and tool_calls (thinking blocks dropped); tools → function tools; tool_choice (auto/any/none/tool,
 * disable_parallel_tool_use) → tool_choice and parallel_tool_calls; max_tokens, stop_sequences → stop,
 * temperature, top_p, stream; metadata.user_id → user. Dropped: top_k, service_tier, thinking. Refused: server
 * tools and document blocks (no OpenAI equivalent).
 */
import { isRecord, str } from "../config/json.js";
import { badRequest } from "../openai/errors.js";
import type { ChatMessage, ChatRequest, JsonObject } from "../openai/types.js";
import { imageUrl, openAIToolChoice, type Block } from "./tables.js";

export function fromAnthropicRequest(body: unknown): ChatRequest {
  if (!isRecord(body)) throw badRequest("the request body must be a JSON object");
  const model = body["model"];
  if (typeof model !== "string" || model === "") throw badRequest("model: field required (a string)", "model");
  const maxTokens = body["max_tokens"];
  if (typeof maxTokens !== "number" || !Number.isInteger(maxTokens) || maxTokens < 1)
    throw badRequest("max_tokens: field required (a positive integer)", "max_tokens");
  const messages = body["messages"];
  if (!Array.isArray(messages) || messages.length === 0)
    throw badRequest("messages: must be a non-empty list", "messages");
  const request: ChatRequest = {
    model,
    messages: [...systemMessages(body["system"]), ...messages.flatMap(toMessages)],
    max_tokens: maxTokens,
  };
  copyOptions(body, request);
  copyTools(body, request);
  return request;
}

function systemMessages(system: unknown): ChatMessage[] {
  if (system === undefined || system === null) return [];
  const text = typeof system === "string" ? system : Array.isArray(system) ? blockText(system) : null;
  if (text === null) throw badRequest("system: must be a string or a list of text blocks", "system");
  return text.length > 0 ? [{ role: "system", content: text }] : [];
}

/** The text blocks of a list, joined by newlines. */
function blockText(blocks: unknown[]): string {
  return blocks.flatMap((b) => (isRecord(b) && b["type"] === "text" ? (str(b["text"]) ?? []) : [])).join("\n");
}

function toMessages(m: unknown, i: number): ChatMessage[] {
  const role = isRecord(m) ? m["role"] : undefined;
  if (!isRecord(m) || (role !== "user" && role !== "assistant"))
    throw badRequest(`messages.${i}.role: must be "user" or "assistant"`, `messages.${i}.role`);
  const content = m["content"];
  if (typeof content === "string") return [{ role, content }];
  if (!Array.isArray(content))
    throw badRequest(`messages.${i}.content: must be a string or a list of content blocks`, `messages.${i}.content`);
  const blocks = content.filter(isRecord);
  return role === "user" ? userMessages(blocks, i) : [assistantMessage(blocks, i)];
}

/** Tool results first (OpenAI wants them right after the assistant's tool calls), then the user's parts. */
function userMessages(blocks: Block[], i: number): ChatMessage[] {
  const tools = blocks.filter((b) => b["type"] === "tool_result").map(toolMessage);
  const parts = blocks.flatMap((b, j) => userPart(b, `messages.${i}.content.${j}`));
  return parts.length > 0 ? [...tools, { role: "user", content: parts }] : tools;
}

function userPart(block: Block, at: string): JsonObject[] {
  switch (block["type"]) {
    case "text":
      return [{ type: "text", text: str(block["text"]) ?? "" }];
    case "image": {
      const url = imageUrl(block["source"]);
      if (url === null) throw badRequest(`${at}.source: must be a base64 or url image source`, `${at}.source`);
      return [{ type: "image_url", image_url: { url } }];
    }
    case "tool_result":
      return [];
    default:
      throw unsupported(block, at);
  }
}

function toolMessage(block: Block): ChatMessage {
  const content = block["content"];
  const text = typeof content === "string" ? content : Array.isArray(content) ? blockText(content) : "";
  return { role: "tool", tool_call_id: str(block["tool_use_id"]) ?? "", content: text };
}

function assistantMessage(blocks: Block[], i: number): ChatMessage {
  const text: string[] = [];
  const calls: JsonObject[] = [];
  blocks.forEach((block, j) => {
    if (block["type"] === "text") text.push(str(block["text"]) ?? "");
    else if (block["type"] === "tool_use") calls.push(toolCall(block));
    else if (block["type"] !== "thinking" && block["type"] !== "redacted_thinking")
      throw unsupported(block, `messages.${i}.content.${j}`);
  });
  const message: ChatMessage = { role: "assistant", content: text.length > 0 ? text.join("") : null };
  if (calls.length > 0) message["tool_calls"] = calls;
  return message;
}

function toolCall(block: Block): JsonObject {
  const input = isRecord(block["input"]) ? block["input"] : {};
  const fn = { name: str(block["name"]) ?? "", arguments: JSON.stringify(input) };
  return { id: str(block["id"]) ?? "", type: "function", function: fn };
}

function unsupported(block: Block, at: string) {
  const type = JSON.stringify(block["type"] ?? null);
  return badRequest(`${at}.type: content blocks of type ${type} are not supported by this router`, `${at}.type`);
}

function copyOptions(body: JsonObject, request: ChatRequest): void {
  const stream = body["stream"];
  if (stream !== undefined && typeof stream !== "boolean") throw badRequest("stream: must be a boolean", "stream");
  if (stream === true) request.stream = true;
  for (const key of ["temperature", "top_p"]) if (typeof body[key] === "number") request[key] = body[key];
  const stop = body["stop_sequences"];
  const sequences = Array.isArray(stop) ? stop.filter((s): s is string => typeof s === "string") : [];
  if (sequences.length > 0) request["stop"] = sequences;
  const user = isRecord(body["metadata"]) ? str(body["metadata"]["user_id"]) : null;
  if (user !== null) request["user"] = user;
}

function copyTools(body: JsonObject, request: ChatRequest): void {
  const tools = body["tools"];
  if (!Array.isArray(tools) || tools.length === 0) return;
  request["tools"] = tools.map(functionTool);
  const choice = body["tool_choice"];
  if (!isRecord(choice)) return;
  const openAI = openAIToolChoice(choice);
  if (openAI !== null) request["tool_choice"] = openAI;
  if (choice["disable_parallel_tool_use"] === true) request["parallel_tool_calls"] = false;
}

function functionTool(tool: unknown, i: number): JsonObject {
  if (!isRecord(tool) || typeof tool["name"] !== "string")
    throw badRequest(`tools.${i}.name: field required`, `tools.${i}.name`);
  if (tool["type"] !== undefined && tool["type"] !== "custom")
    throw badRequest(
      `tools.${i}.type: server tools (${JSON.stringify(tool["type"])}) are not supported by this router`,
      `tools.${i}.type`,
    );
  const fn: JsonObject = {
    name: tool["name"],
    parameters: isRecord(tool["input_schema"]) ? tool["input_schema"] : { type: "object", properties: {} },
  };
  if (typeof tool["description"] === "string") fn["description"] = tool["description"];
  return { type: "function", function: fn };
}
