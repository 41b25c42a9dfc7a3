import { describe, expect, it } from "vitest";
import type { Rejection } from "../types.js";
import { classifyRejection } from "./rejections.js";

// [upstream, status, code, message, what it means for routing]
const TABLE: [string, number, string | null, string, Rejection | null][] = [
  [
    "OpenAI context",
    400,
    "context_length_exceeded",
    "This model's maximum context length is 8192 tokens",
    "context_length",
  ],
  ["Anthropic context", 400, null, "prompt is too long: 250000 tokens > 200000 maximum", "context_length"],
  [
    "vLLM context",
    400,
    null,
    "This model's maximum context length is 4096 tokens. However, you requested 5000",
    "context_length",
  ],
  ["413 too large", 413, null, "request too large", "context_length"],
  [
    "OpenAI max tokens",
    400,
    null,
    "max_tokens is too large: 100000. This model supports at most 16384 completion tokens",
    "max_tokens",
  ],
  [
    "Anthropic max tokens",
    400,
    null,
    "max_tokens: 100000 > 64000, which is the maximum allowed number of output tokens",
    "max_tokens",
  ],
  ["OpenAI unsupported", 400, "unsupported_parameter", "Unsupported parameter: 'temperature'", "unsupported_parameter"],
  ["Azure unrecognized", 400, null, "Unrecognized request argument supplied: foo", "unsupported_parameter"],
  [
    "Azure content filter",
    400,
    "content_filter",
    "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
    "content_filter",
  ],
  [
    "content policy in words",
    400,
    null,
    "Your request was rejected as a result of our safety system.",
    "content_filter",
  ],
  ["plain invalid request", 400, null, "messages: roles must alternate", null],
  ["404 model", 404, "model_not_found", "The model does not exist", null],
  ["rate limit", 429, null, "context length rate limit", null],
  ["server error", 500, null, "prompt is too long", null],
];

describe("classifyRejection", () => {
  it.each(TABLE)("%s → %s", (_what, status, code, message, expected) => {
    expect(classifyRejection(status, code, message)).toBe(expected);
  });
});
