/**
 * OpenAI chat request → Anthropic Messages request body (the Anthropic provider adapter's direction). Pure.
 *
 * system/developer messages → `system`; user/assistant/tool messages → alternating turns (consecutive turns of one
 * role merged, tool results become `tool_result` blocks in a user turn); `image_url` parts → image blocks (data
 * URLs as base64, others as url sources); tools/tool_choice/parallel_tool_calls → tools/tool_choice; stop →
 * stop_sequences; temperature (clamped to Anthropic's 0–1) and top_p; user → metadata.user_id. Best effort:
 * `response_format` json_object / non-strict json_schema becomes a system instruction (Anthropic has no JSON mode
 * in this API version), so the reply is very likely but not guaranteed to be valid JSON. Never sent here: n > 1,
 * logprobs and a strict json_schema (the router refuses or routes around them, select/params.ts). Dropped: seed,
 * presence/frequency penalties, audio/file content parts, legacy `function` messages. The caller decides the model
 * and max_tokens.
 */
import { isRecord, str } from "../config/json.js";
import { contentText } from "../openai/content.js";
import type { ChatMessage, ChatRequest, JsonObject } from "../openai/types.js";
import { anthropicToolChoice, imageBlock, toolInput, type Block } from "./tables.js";

export interface Turn {
  role: "user" | "assistant";
  content: Block[];
}

export function toAnthropicBody(
  request: ChatRequest,
  o: { model: string; maxTokens: number; stream: boolean },
): JsonObject {
  const body: JsonObject = { model: o.model, max_tokens: o.maxTokens, messages: toTurns(request.messages) };
  const system = systemPrompt(request);
  if (system.length > 0) body["system"] = system;
  if (o.stream) body["stream"] = true;
  copySampling(request, body);
  copyTools(request, body);
  const user = str(request["user"]);
  if (user !== null) body["metadata"] = { user_id: user };
  return body;
}

function copySampling(request: ChatRequest, body: JsonObject): void {
  const temperature = request["temperature"];
  if (typeof temperature === "number") body["temperature"] = Math.min(1, Math.max(0, temperature));
  const topP = request["top_p"];
  if (typeof topP === "number") body["top_p"] = topP;
  const stop = request["stop"];
  const sequences = (typeof stop === "string" ? [stop] : Array.isArray(stop) ? stop : []).filter(
    (s): s is string => typeof s === "string" && s.trim().length > 0,
  );
  if (sequences.length > 0) body["stop_sequences"] = sequences;
}

function systemPrompt(request: ChatRequest): string {
  const parts: string[] = [];
  for (const m of request.messages) {
    if (m.role === "system" || m.role === "developer") {
      const text = contentText(m.content);
      if (text.length > 0) parts.push(text);
    }
  }
  const json = jsonInstruction(request["response_format"]);
  if (json !== null) parts.push(json);
  return parts.join("\n\n");
}

function jsonInstruction(format: unknown): string | null {
  if (!isRecord(format)) return null;
  if (format["type"] === "json_object") return "Respond with a single valid JSON object and nothing else.";
  if (format["type"] !== "json_schema") return null;
  const spec = format["json_schema"];
  const schema = isRecord(spec) ? spec["schema"] : undefined;
  return schema === undefined
    ? "Respond with a single valid JSON object and nothing else."
    : `Respond with a single valid JSON object, and nothing else, that matches this JSON Schema: ${JSON.stringify(schema)}`;
}

export function toTurns(messages: ChatMessage[]): Turn[] {
  const turns: Turn[] = [];
  for (const m of messages) {
    const turn = toTurn(m);
    if (turn === null || turn.content.length === 0) continue;
    const last = turns[turns.length - 1];
    if (last?.role === turn.role) last.content.push(...turn.content);
    else turns.push(turn);
  }
  return turns;
}

function toTurn(m: ChatMessage): Turn | null {
  switch (m.role) {
    case "user":
      return { role: "user", content: userBlocks(m.content) };
    case "assistant":
      return { role: "assistant", content: assistantBlocks(m) };
    case "tool":
      return { role: "user", content: [toolResult(m)] };
    default:
      return null; // system/developer go to `system`; legacy `function` messages are not supported.
  }
}

function userBlocks(content: unknown): Block[] {
  if (typeof content === "string") return content.length > 0 ? [{ type: "text", text: content }] : [];
  if (!Array.isArray(content)) return [];
  const blocks: Block[] = [];
  for (const part of content) {
    const block = isRecord(part) ? partBlock(part) : null;
    if (block !== null) blocks.push(block);
  }
  return blocks;
}

function partBlock(part: JsonObject): Block | null {
  if (part["type"] === "text") {
    const text = str(part["text"]);
    return text === null || text.length === 0 ? null : { type: "text", text };
  }
  if (part["type"] === "image_url") {
    const image = part["image_url"];
    const url = isRecord(image) ? str(image["url"]) : str(image);
    return url === null ? null : imageBlock(url);
  }
  return null;
}

function assistantBlocks(m: ChatMessage): Block[] {
  const blocks: Block[] = [];
  const text = contentText(m.content);
  if (text.length > 0) blocks.push({ type: "text", text });
  const calls = m["tool_calls"];
  if (!Array.isArray(calls)) return blocks;
  for (const call of calls) {
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

function toolResult(m: ChatMessage): Block {
  return { type: "tool_result", tool_use_id: str(m["tool_call_id"]) ?? "", content: contentText(m.content) };
}

function copyTools(request: ChatRequest, body: JsonObject): void {
  const tools = request["tools"];
  // Anthropic rejects tool_choice without tools.
  if (!Array.isArray(tools) || tools.length === 0) return;
  body["tools"] = tools.filter(isRecord).map(toolDefinition);
  const choice = anthropicToolChoice(request["tool_choice"]);
  if (request["parallel_tool_calls"] === false && choice?.["type"] !== "none") {
    body["tool_choice"] = { ...(choice ?? { type: "auto" }), disable_parallel_tool_use: true };
  } else if (choice !== null) {
    body["tool_choice"] = choice;
  }
}

function toolDefinition(tool: JsonObject): Block {
  const fn = isRecord(tool["function"]) ? tool["function"] : {};
  const def: Block = { name: str(fn["name"]) ?? "" };
  const description = str(fn["description"]);
  if (description !== null) def["description"] = description;
  def["input_schema"] = isRecord(fn["parameters"]) ? fn["parameters"] : { type: "object", properties: {} };
  return def;
}
