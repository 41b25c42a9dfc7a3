/**
 * Which request-shaped rejections another candidate may accept. Upstreams say so in different words: OpenAI and
 * Azure with `code` (context_length_exceeded, unsupported_parameter, content_filter), Anthropic and vLLM in the
 * message ("prompt is too long: 250000 tokens > 200000 maximum", "max_tokens: 100000 > 64000"), so both are read.
 */
import type { Rejection } from "../types.js";

const CONTENT_FILTER_CODES = new Set(["content_filter", "content_policy_violation", "moderation_blocked"]);
const CONTEXT_CODES = new Set(["context_length_exceeded", "string_above_max_length", "prompt_too_long"]);
const UNSUPPORTED_CODES = new Set(["unsupported_parameter", "unsupported_value", "unknown_parameter"]);

const CONTENT_FILTER_TEXT = /content[ _-]?(filter|management polic|polic)|safety system|flagged as potentially/i;
const CONTEXT_TEXT =
  /context (length|window)|maximum context|prompt is too long|input is too long|too many (input )?tokens|reduce the length of the (messages|prompt)/i;
const MAX_TOKENS_TEXT =
  /\b(max_tokens|max_completion_tokens|max_output_tokens|maximum output tokens)\b.*(too large|exceed|maximum|at most|greater than|less than or equal|>)/i;
const UNSUPPORTED_TEXT =
  /unsupported (parameter|value)|is not supported|not supported with this model|unrecognized request argument|extra inputs are not permitted|unknown (parameter|field)/i;

/** In the order they are checked: a content filter wins over everything else. */
const RULES: [Rejection, ReadonlySet<string>, RegExp][] = [
  ["content_filter", CONTENT_FILTER_CODES, CONTENT_FILTER_TEXT],
  ["context_length", CONTEXT_CODES, CONTEXT_TEXT],
  ["max_tokens", new Set(), MAX_TOKENS_TEXT],
  ["unsupported_parameter", UNSUPPORTED_CODES, UNSUPPORTED_TEXT],
];

/** 4xx statuses that are about the request (not auth, not an upstream timeout, not a rate limit). */
function requestShaped(status: number): boolean {
  return status >= 400 && status < 500 && ![401, 403, 408, 429].includes(status);
}

/** What a 4xx means for routing, from its status, the upstream's code and its message; null: a plain rejection. */
export function classifyRejection(status: number, code: string | null, message: string): Rejection | null {
  if (!requestShaped(status)) return null;
  for (const [rejection, codes, text] of RULES) {
    if ((code !== null && codes.has(code)) || text.test(message)) return rejection;
  }
  return status === 413 ? "context_length" : null;
}
