/**
 * What a simulated provider answers beyond plain text, so an agent or a JSON client can be tried against
 * `npm start`: a well-formed tool call when the request offers tools (forced by `tool_choice`, or `auto` on a user
 * turn; after a tool result it answers in text), JSON for `response_format` (shaped like a `json_schema`'s schema),
 * `n` choices, and per-token `logprobs`. Pure and deterministic (seeded by the prompt's hash).
 */
import { isRecord } from "../../config/json.js";
import type { ChatRequest } from "../../openai/types.js";
import { rng } from "../../prng.js";
import { replyText, replyTokens } from "./translate.js";

/** At most this many choices (`n`), like OpenAI's limit. */
export const MAX_CHOICES = 128;

export interface ShapedChoice {
  index: number;
  message: Record<string, unknown>;
  logprobs: { content: TokenLogprob[] } | null;
  finish_reason: string;
}

interface TokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

export function choiceCount(request: ChatRequest): number {
  const n = request["n"];
  return typeof n === "number" && Number.isInteger(n) && n > 0 ? Math.min(n, MAX_CHOICES) : 1;
}

/** Whether the request needs more than the plain-text reply (the fast path stays as it was otherwise). */
export function needsShaping(request: ChatRequest): boolean {
  return (
    choiceCount(request) > 1 ||
    request["logprobs"] === true ||
    toolToCall(request) !== null ||
    jsonFormat(request) !== null
  );
}

/** The choices of a shaped answer; `tokens` is the planned completion length, `finish` the plan's finish reason. */
export function shapedChoices(
  request: ChatRequest,
  promptHash: number,
  tokens: number,
  finish: string,
): ShapedChoice[] {
  return Array.from({ length: choiceCount(request) }, (_, index) =>
    shapedChoice(request, (promptHash + index) >>> 0, tokens, finish, index),
  );
}

function shapedChoice(request: ChatRequest, hash: number, tokens: number, finish: string, index: number): ShapedChoice {
  const tool = toolToCall(request);
  if (tool) {
    const args = JSON.stringify(sample(tool.parameters, hash, promptWords(request)));
    const call = {
      id: `call_sim_${hash.toString(16)}`,
      type: "function",
      function: { name: tool.name, arguments: args },
    };
    return {
      index,
      message: { role: "assistant", content: null, tool_calls: [call], refusal: null },
      logprobs: null,
      finish_reason: "tool_calls",
    };
  }
  const format = jsonFormat(request);
  const content =
    format === null
      ? replyText(hash, tokens)
      : JSON.stringify(
          format.schema === null
            ? { answer: replyText(hash, tokens) }
            : sample(format.schema, hash, promptWords(request)),
        );
  return {
    index,
    message: { role: "assistant", content, refusal: null },
    logprobs: request["logprobs"] === true ? logprobsOf(request, hash, format === null ? tokens : 0, content) : null,
    finish_reason: format === null ? finish : "stop",
  };
}

/** The tool the model calls now, or null (no tools, tool_choice none, or the last turn is a tool result). */
function toolToCall(request: ChatRequest): { name: string; parameters: unknown } | null {
  const declared = declaredTools(request);
  const choice = request["tool_choice"];
  if (declared.length === 0 || choice === "none") return null;
  if (isRecord(choice) && isRecord(choice["function"])) {
    const forced = choice["function"]["name"];
    return declared.find((d) => d.name === forced) ?? null;
  }
  const last = request.messages[request.messages.length - 1];
  return choice === "required" || last?.role === "user" ? (declared[0] ?? null) : null;
}

function declaredTools(request: ChatRequest): { name: string; parameters: unknown }[] {
  const tools = Array.isArray(request["tools"]) ? request["tools"] : [];
  return tools.flatMap((t) => {
    const fn = isRecord(t) && isRecord(t["function"]) ? t["function"] : null;
    return fn && typeof fn["name"] === "string" ? [{ name: fn["name"], parameters: fn["parameters"] }] : [];
  });
}

/** json_object → { schema: null }; json_schema → its schema; otherwise null. */
function jsonFormat(request: ChatRequest): { schema: unknown } | null {
  const format = isRecord(request["response_format"]) ? request["response_format"] : null;
  if (format?.["type"] === "json_object") return { schema: null };
  if (format?.["type"] !== "json_schema") return null;
  const spec = isRecord(format["json_schema"]) ? format["json_schema"] : {};
  return { schema: spec["schema"] ?? null };
}

function promptWords(request: ChatRequest): string[] {
  const last = [...request.messages].reverse().find((m) => m.role === "user");
  const text = typeof last?.content === "string" ? last.content : "";
  const words = text.match(/[\p{L}\p{N}]+/gu) ?? [];
  return words.length > 0 ? words : ["example"];
}

const MAX_DEPTH = 6;

/** A value of the schema's shape: every property, enums' first value, arrays of one, numbers within minimum. */
export function sample(schema: unknown, hash: number, words: string[], depth = 0): unknown {
  if (!isRecord(schema) || depth > MAX_DEPTH) return words[0] ?? "example";
  if (Array.isArray(schema["enum"]) && schema["enum"].length > 0) return schema["enum"][0];
  if ("const" in schema) return schema["const"];
  const type = typeOf(schema);
  if (type === "object") return sampleObject(schema, hash, words, depth);
  if (type === "array") return [sample(schema["items"], hash + 1, words, depth + 1)];
  return scalar(type, schema, rng(hash), words);
}

function scalar(type: string, schema: Record<string, unknown>, next: () => number, words: string[]): unknown {
  const minimum = typeof schema["minimum"] === "number" ? schema["minimum"] : null;
  switch (type) {
    case "integer":
      return Math.max(minimum === null ? 1 : Math.ceil(minimum), 1 + Math.floor(next() * 9));
    case "number":
      return minimum ?? Math.round(next() * 1000) / 100;
    case "boolean":
      return next() < 0.5;
    case "null":
      return null;
    default:
      return words.slice(0, 1 + Math.floor(next() * Math.min(4, words.length))).join(" ");
  }
}

function typeOf(schema: Record<string, unknown>): string {
  const t = schema["type"];
  if (typeof t === "string") return t;
  if (Array.isArray(t)) return String(t.find((x) => x !== "null") ?? "string");
  return isRecord(schema["properties"]) ? "object" : "string";
}

function sampleObject(schema: Record<string, unknown>, hash: number, words: string[], depth: number) {
  const props = isRecord(schema["properties"]) ? schema["properties"] : {};
  const out: Record<string, unknown> = {};
  Object.entries(props).forEach(([key, sub], i) => {
    out[key] = sample(sub, (hash + i * 7919) >>> 0, words, depth + 1);
  });
  return out;
}

/** Log-probabilities of the reply's tokens (and `top_logprobs` alternatives), deterministic per token. */
function logprobsOf(request: ChatRequest, hash: number, tokens: number, content: string): { content: TokenLogprob[] } {
  const top = typeof request["top_logprobs"] === "number" ? Math.min(20, Math.max(0, request["top_logprobs"])) : 0;
  const next = rng(hash ^ 0x5bd1e995);
  const texts = tokens > 0 ? [...replyTokens(hash, tokens)] : [content];
  return {
    content: texts.map((token) => {
      const logprob = -Math.round(next() * 150) / 100;
      const alternatives = Array.from({ length: top }, (_, i) => ({
        token: i === 0 ? token : `${token}${i}`,
        logprob: i === 0 ? logprob : logprob - 1 - i,
        bytes: [...Buffer.from(i === 0 ? token : `${token}${i}`)],
      }));
      return { token, logprob, bytes: [...Buffer.from(token)], top_logprobs: alternatives };
    }),
  };
}
