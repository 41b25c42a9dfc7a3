/**
 * An OpenAI Responses API request (POST /v1/responses) as the chat completion request every adapter speaks:
 * instructions → a system message; input (a string, or message / function_call / function_call_output items) →
 * messages, with function calls as assistant tool_calls and their outputs as tool messages; function tools,
 * tool_choice, text.format, max_output_tokens and the sampling parameters → their chat names. What needs state
 * the router does not keep (previous_response_id, conversation, store, background, stored prompts) or a tool it
 * does not host (web_search, file_search, …) is refused with a 400 naming the parameter. Other fields are dropped.
 */
import { isRecord } from "../config/json.js";
import { badRequest } from "./errors.js";
import type { ChatMessage, ChatRequest, JsonObject } from "./types.js";

/** Parameters that need server-side state: refused when set (null, false and absent are fine). */
const STATEFUL: readonly [string, string][] = [
  ["previous_response_id", "the router keeps no responses; send the whole conversation in input"],
  ["conversation", "the router keeps no conversations; send the whole conversation in input"],
  ["store", "the router stores no responses; omit store or send store: false"],
  ["background", "background responses are not supported by the router"],
  ["prompt", "stored prompt templates are not supported by the router; send instructions and input"],
];

/** Passed through under the same name. */
const SAME_NAME = ["temperature", "top_p", "metadata", "user"] as const;

export function chatRequestOf(body: unknown): ChatRequest {
  if (!isRecord(body)) throw badRequest("the request body must be a JSON object");
  refuseStateful(body);
  if (typeof body["model"] !== "string" || body["model"] === "")
    throw badRequest("model is required and must be a string", "model");
  if (body["stream"] !== undefined && typeof body["stream"] !== "boolean")
    throw badRequest("stream must be a boolean", "stream");
  const chat: ChatRequest = { model: body["model"], messages: [...instructionsOf(body), ...messagesOf(body["input"])] };
  for (const key of SAME_NAME) if (body[key] !== undefined && body[key] !== null) chat[key] = body[key];
  Object.assign(chat, toolsOf(body), formatOf(body["text"]), limitsOf(body));
  if (body["stream"] === true) Object.assign(chat, { stream: true, stream_options: { include_usage: true } });
  return chat;
}

function refuseStateful(body: JsonObject): void {
  for (const [key, why] of STATEFUL) {
    const v = body[key];
    if (v !== undefined && v !== null && v !== false)
      throw badRequest(`${key} is not supported: ${why}`, key, "unsupported_parameter");
  }
}

function instructionsOf(body: JsonObject): ChatMessage[] {
  const v = body["instructions"];
  if (v === undefined || v === null || v === "") return [];
  if (typeof v !== "string") throw badRequest("instructions must be a string", "instructions");
  return [{ role: "system", content: v }];
}

function messagesOf(input: unknown): ChatMessage[] {
  if (typeof input === "string") return [{ role: "user", content: input }];
  if (!Array.isArray(input) || input.length === 0)
    throw badRequest("input must be a string or a non-empty array of input items", "input");
  const out: ChatMessage[] = [];
  input.forEach((item: unknown, i) => {
    addItem(out, item, `input[${i}]`);
  });
  if (out.length === 0) throw badRequest("input has no message", "input");
  return out;
}

type ItemTranslator = (out: ChatMessage[], item: JsonObject, param: string) => void;

const ITEMS = new Map<string, ItemTranslator>([
  ["message", addMessage],
  ["function_call", addFunctionCall],
  ["function_call_output", addFunctionOutput],
  // A reasoning item is the model's own summary of a previous turn; chat models cannot take it back.
  ["reasoning", () => undefined],
]);

function addItem(out: ChatMessage[], item: unknown, param: string): void {
  if (!isRecord(item)) throw badRequest(`${param} must be an object`, param);
  const type = item["type"] ?? "message";
  const add = typeof type === "string" ? ITEMS.get(type) : undefined;
  if (!add) {
    const supported = [...ITEMS.keys()].join(", ");
    throw badRequest(
      `${param}.type ${JSON.stringify(type)} is not supported by the router (supported: ${supported})`,
      `${param}.type`,
      "unsupported_parameter",
    );
  }
  add(out, item, param);
}

const ROLES = new Set(["user", "assistant", "system", "developer"]);

function addMessage(out: ChatMessage[], item: JsonObject, param: string): void {
  const role = item["role"];
  if (typeof role !== "string" || !ROLES.has(role))
    throw badRequest(`${param}.role must be one of ${[...ROLES].join(", ")}`, `${param}.role`);
  out.push({ role, content: contentOf(item["content"], role, `${param}.content`) });
}

/** A string stays one; parts become chat parts, and text-only content becomes a string for an assistant. */
function contentOf(content: unknown, role: string, param: string): unknown {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) throw badRequest(`${param} must be a string or an array of content parts`, param);
  const parts = content.map((p: unknown, i) => chatPart(p, `${param}[${i}]`));
  const texts = parts.flatMap((p) => (p["type"] === "text" ? [String(p["text"])] : []));
  const textOnly = texts.length === parts.length;
  if (textOnly && (role === "assistant" || parts.length === 1)) return texts.join("");
  return parts;
}

const TEXT_PARTS = new Set(["input_text", "output_text", "text"]);

function chatPart(part: unknown, param: string): JsonObject {
  if (!isRecord(part)) throw badRequest(`${param} must be an object`, param);
  const type = part["type"];
  if (typeof type === "string" && TEXT_PARTS.has(type) && typeof part["text"] === "string")
    return { type: "text", text: part["text"] };
  if (type === "refusal" && typeof part["refusal"] === "string") return { type: "text", text: part["refusal"] };
  if (type === "input_image" && typeof part["image_url"] === "string") {
    const detail = typeof part["detail"] === "string" ? { detail: part["detail"] } : {};
    return { type: "image_url", image_url: { url: part["image_url"], ...detail } };
  }
  throw badRequest(
    `${param}: content part ${JSON.stringify(type)} is not supported by the router ` +
      "(input_text, output_text, refusal, input_image with an image_url)",
    `${param}.type`,
    "unsupported_parameter",
  );
}

/** A function call joins the assistant message before it (one chat turn), else starts one. */
function addFunctionCall(out: ChatMessage[], item: JsonObject, param: string): void {
  const callId = requiredString(item, "call_id", param);
  const name = requiredString(item, "name", param);
  const args = typeof item["arguments"] === "string" ? item["arguments"] : "{}";
  const call = { id: callId, type: "function", function: { name, arguments: args } };
  const last = out[out.length - 1];
  if (last?.role === "assistant") {
    last["tool_calls"] = [...((last["tool_calls"] as unknown[] | undefined) ?? []), call];
    return;
  }
  out.push({ role: "assistant", content: null, tool_calls: [call] });
}

function addFunctionOutput(out: ChatMessage[], item: JsonObject, param: string): void {
  const callId = requiredString(item, "call_id", param);
  const output = item["output"];
  const content = Array.isArray(output) ? contentOf(output, "assistant", `${param}.output`) : output;
  if (typeof content !== "string") throw badRequest(`${param}.output must be a string`, `${param}.output`);
  out.push({ role: "tool", tool_call_id: callId, content });
}

function requiredString(item: JsonObject, key: string, param: string): string {
  const v = item[key];
  if (typeof v !== "string" || v === "")
    throw badRequest(`${param}.${key} must be a non-empty string`, `${param}.${key}`);
  return v;
}

/** Function tools as chat tools, and tool_choice; hosted tools are refused. */
function toolsOf(body: JsonObject): JsonObject {
  const tools = body["tools"];
  if (tools === undefined || tools === null) return {};
  if (!Array.isArray(tools)) throw badRequest("tools must be an array", "tools");
  if (tools.length === 0) return {};
  const out: JsonObject = { tools: tools.map((t: unknown, i) => chatTool(t, `tools[${i}]`)) };
  if (body["tool_choice"] !== undefined && body["tool_choice"] !== null)
    out["tool_choice"] = toolChoiceOf(body["tool_choice"]);
  if (typeof body["parallel_tool_calls"] === "boolean") out["parallel_tool_calls"] = body["parallel_tool_calls"];
  return out;
}

function chatTool(tool: unknown, param: string): JsonObject {
  if (!isRecord(tool)) throw badRequest(`${param} must be an object`, param);
  if (tool["type"] !== "function") {
    throw badRequest(
      `${param}: the built-in tool ${JSON.stringify(tool["type"])} is not supported by the router; only function tools are`,
      `${param}.type`,
      "unsupported_parameter",
    );
  }
  const fn: JsonObject = { name: requiredString(tool, "name", param) };
  for (const key of ["description", "parameters", "strict"]) if (tool[key] != null) fn[key] = tool[key];
  return { type: "function", function: fn };
}

const CHOICES = new Set(["auto", "none", "required"]);

function toolChoiceOf(choice: unknown): unknown {
  if (typeof choice === "string" && CHOICES.has(choice)) return choice;
  if (isRecord(choice) && choice["type"] === "function" && typeof choice["name"] === "string")
    return { type: "function", function: { name: choice["name"] } };
  throw badRequest(
    "tool_choice must be auto, none, required or {type: function, name}; hosted tool choices are not supported",
    "tool_choice",
    "unsupported_parameter",
  );
}

/** text.format as response_format (plain text needs none). */
function formatOf(text: unknown): JsonObject {
  if (!isRecord(text) || !isRecord(text["format"])) return {};
  const f = text["format"];
  if (f["type"] === "text") return {};
  if (f["type"] === "json_object") return { response_format: { type: "json_object" } };
  if (f["type"] === "json_schema") {
    const { type: _type, ...schema } = f;
    return { response_format: { type: "json_schema", json_schema: schema } };
  }
  throw badRequest("text.format.type must be text, json_object or json_schema", "text.format.type");
}

function limitsOf(body: JsonObject): JsonObject {
  const out: JsonObject = {};
  const max = body["max_output_tokens"];
  if (max !== undefined && max !== null) {
    if (typeof max !== "number" || !Number.isInteger(max) || max < 1)
      throw badRequest("max_output_tokens must be a positive integer", "max_output_tokens");
    out["max_completion_tokens"] = max;
  }
  const reasoning = body["reasoning"];
  if (isRecord(reasoning) && typeof reasoning["effort"] === "string") out["reasoning_effort"] = reasoning["effort"];
  return out;
}
