/**
 * The legacy Completions API (POST /v1/completions) as the chat pipeline routes it: a single `prompt` becomes one
 * user message; the chat answer's text becomes `choices[].text` (object `text_completion`), streamed chunks become
 * `text_completion` chunks. What has no chat equivalent is refused with a 400 naming the parameter, never dropped.
 */
import { isRecord } from "../config/json.js";
import { badRequest } from "./errors.js";
import type { ChatCompletion, ChatCompletionChunk, JsonObject } from "./types.js";

/** Request fields passed to the chat request as they are. */
const PASSED = [
  "model",
  "max_tokens",
  "temperature",
  "top_p",
  "n",
  "stop",
  "presence_penalty",
  "frequency_penalty",
  "seed",
  "user",
  "stream",
  "stream_options",
  "metadata",
  "logit_bias",
];

/** Parameters of the legacy API that chat completions cannot express. */
const REFUSED: Record<string, (v: unknown) => boolean> = {
  echo: (v) => v === true,
  suffix: (v) => typeof v === "string" && v !== "",
  best_of: (v) => typeof v === "number" && v > 1,
  logprobs: (v) => v !== null && v !== undefined,
};

export function chatRequestOfCompletion(body: unknown): JsonObject {
  if (!isRecord(body)) throw badRequest("the request body must be a JSON object");
  for (const [name, refused] of Object.entries(REFUSED))
    if (refused(body[name]))
      throw badRequest(`${name} is not supported by this router's /v1/completions`, name, "unsupported_parameter");
  const chat: JsonObject = { messages: [{ role: "user", content: promptText(body["prompt"]) }] };
  for (const key of PASSED) if (body[key] !== undefined) chat[key] = body[key];
  return chat;
}

function promptText(prompt: unknown): string {
  if (typeof prompt === "string") return prompt;
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === "string") return prompt[0];
  if (Array.isArray(prompt))
    throw badRequest("prompt must be one string (send one request per prompt)", "prompt", "unsupported_parameter");
  throw badRequest("prompt is required and must be a string", "prompt");
}

/** A chat completion in the legacy shape. */
export function legacyCompletion(c: ChatCompletion): JsonObject {
  return {
    id: c.id.replace(/^chatcmpl-/, "cmpl-"),
    object: "text_completion",
    created: c["created"] ?? Math.floor(Date.now() / 1000),
    model: c.model,
    choices: c.choices.map((choice, i) => {
      const ch = isRecord(choice) ? choice : {};
      const message = isRecord(ch["message"]) ? ch["message"] : {};
      return {
        index: typeof ch["index"] === "number" ? ch["index"] : i,
        text: typeof message["content"] === "string" ? message["content"] : "",
        logprobs: null,
        finish_reason: ch["finish_reason"] ?? null,
      };
    }),
    ...(c.usage ? { usage: c.usage } : {}),
  };
}

/** A chat chunk as a legacy completion chunk (null for chunks that carry nothing: the role chunk). */
export function legacyChunk(c: ChatCompletionChunk): JsonObject | null {
  const choices = c.choices.flatMap((choice) => {
    const ch = isRecord(choice) ? choice : {};
    const delta = isRecord(ch["delta"]) ? ch["delta"] : {};
    const text = typeof delta["content"] === "string" ? delta["content"] : "";
    const finish = ch["finish_reason"] ?? null;
    if (text === "" && finish === null) return [];
    return [{ index: typeof ch["index"] === "number" ? ch["index"] : 0, text, logprobs: null, finish_reason: finish }];
  });
  if (choices.length === 0 && !c.usage) return null;
  return {
    id: c.id.replace(/^chatcmpl-/, "cmpl-"),
    object: "text_completion",
    created: c["created"] ?? Math.floor(Date.now() / 1000),
    model: c.model,
    choices,
    ...(c.usage ? { usage: c.usage } : {}),
  };
}
