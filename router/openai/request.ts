/**
 * Validates an OpenAI chat completion request body (which arrives as unknown JSON) and derives what routing
 * needs: the text to classify, token estimates and required capabilities. Unknown fields pass through.
 */
import { isRecord } from "../config/json.js";
import type { ClassifyInput } from "../classify/types.js";
import type { ChatMessage, ChatRequest } from "./types.js";
import { badRequest } from "./errors.js";
import { estimateTokens } from "./tokens.js";

export interface ParsedRequest {
  body: ChatRequest;
  stream: boolean;
  /** The client asked for a usage chunk at the end of the stream. */
  includeUsage: boolean;
  classifyInput: ClassifyInput;
  promptChars: number;
  promptTokens: number;
  maxOutputTokens: number | null;
  needsTools: boolean;
  needsVision: boolean;
  needsJson: boolean;
  /** `n`: how many choices the client asked for (1 when absent). */
  choices: number;
  /** `logprobs: true` or `top_logprobs` set. */
  needsLogprobs: boolean;
  /** `response_format` json_schema with `strict: true`. */
  needsStrictSchema: boolean;
  metadata: Record<string, unknown>;
}

const ROLES = new Set(["system", "developer", "user", "assistant", "tool", "function"]);

export function parseChatRequest(body: unknown): ParsedRequest {
  const b = checkShape(body);
  const messages = b.messages;
  const maxOutputTokens = optionalPositiveInt(b, "max_completion_tokens") ?? optionalPositiveInt(b, "max_tokens");
  const text = textOf(messages);
  const stream = b["stream"] === true;
  return {
    body: b,
    stream,
    includeUsage: stream && wantsUsage(b["stream_options"]),
    classifyInput: { prompt: text.lastUser, system: text.system, totalChars: text.chars },
    promptChars: text.chars,
    promptTokens: estimateTokens(text.chars) + 4 * messages.length,
    maxOutputTokens,
    needsTools: Array.isArray(b["tools"]) && b["tools"].length > 0,
    needsVision: text.images > 0,
    needsJson: wantsJson(b["response_format"]),
    choices: optionalPositiveInt(b, "n") ?? 1,
    needsLogprobs: b["logprobs"] === true || (typeof b["top_logprobs"] === "number" && b["top_logprobs"] > 0),
    needsStrictSchema: wantsStrictSchema(b["response_format"]),
    metadata: isRecord(b["metadata"]) ? b["metadata"] : {},
  };
}

/** The fields every request needs: a JSON object with a model, non-empty messages and a boolean stream. */
function checkShape(body: unknown): ChatRequest {
  if (!isRecord(body)) throw badRequest("the request body must be a JSON object");
  if (typeof body["model"] !== "string" || body["model"] === "")
    throw badRequest("model is required and must be a string", "model");
  const messages = body["messages"];
  if (!Array.isArray(messages) || messages.length === 0)
    throw badRequest("messages must be a non-empty array", "messages");
  messages.forEach(checkMessage);
  if (body["stream"] !== undefined && typeof body["stream"] !== "boolean")
    throw badRequest("stream must be a boolean", "stream");
  return body as ChatRequest;
}

function wantsUsage(streamOptions: unknown): boolean {
  return isRecord(streamOptions) && streamOptions["include_usage"] === true;
}

function wantsJson(responseFormat: unknown): boolean {
  return isRecord(responseFormat) && responseFormat["type"] !== "text" && responseFormat["type"] !== undefined;
}

function wantsStrictSchema(responseFormat: unknown): boolean {
  if (!isRecord(responseFormat) || responseFormat["type"] !== "json_schema") return false;
  const spec = responseFormat["json_schema"];
  return isRecord(spec) && spec["strict"] === true;
}

function checkMessage(m: unknown, i: number): void {
  if (!isRecord(m)) throw badRequest(`messages[${i}] must be an object`, `messages[${i}]`);
  if (typeof m["role"] !== "string" || !ROLES.has(m["role"])) {
    throw badRequest(`messages[${i}].role must be one of ${[...ROLES].join(", ")}`, `messages[${i}].role`);
  }
  const c = m["content"];
  if (c !== undefined && c !== null && typeof c !== "string" && !Array.isArray(c)) {
    throw badRequest(`messages[${i}].content must be a string or an array of content parts`, `messages[${i}].content`);
  }
}

function optionalPositiveInt(b: Record<string, unknown>, key: string): number | null {
  const v = b[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1)
    throw badRequest(`${key} must be a positive integer`, key);
  return v;
}

interface MessageText {
  lastUser: string;
  system: string;
  chars: number;
  images: number;
}

function textOf(messages: ChatMessage[]): MessageText {
  const out: MessageText = { lastUser: "", system: "", chars: 0, images: 0 };
  for (const m of messages) {
    const { text, images } = contentText(m.content);
    out.chars += text.length;
    out.images += images;
    if (m.role === "user") out.lastUser = text;
    else if (m.role === "system" || m.role === "developer") out.system += (out.system ? "\n" : "") + text;
    if (Array.isArray(m["tool_calls"])) out.chars += JSON.stringify(m["tool_calls"]).length;
  }
  return out;
}

function contentText(content: unknown): { text: string; images: number } {
  if (typeof content === "string") return { text: content, images: 0 };
  if (!Array.isArray(content)) return { text: "", images: 0 };
  let text = "";
  let images = 0;
  for (const part of content) {
    if (!isRecord(part)) continue;
    if (part["type"] === "text" && typeof part["text"] === "string") text += (text ? "\n" : "") + part["text"];
    else if (part["type"] === "image_url" || part["type"] === "input_image") images++;
  }
  return { text, images };
}
