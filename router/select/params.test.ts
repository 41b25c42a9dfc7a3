import { describe, expect, it } from "vitest";
import { parameterGap } from "./params.js";

const anthropic = { type: "anthropic" as const, id: "default/claude" };
const openai = { type: "openai" as const, id: "default/gpt" };

describe("parameterGap", () => {
  it("refuses n > 1 with n_not_supported when the provider is anthropic", () => {
    expect(parameterGap(anthropic, { choices: 2 })).toMatchObject({ status: 400, code: "n_not_supported", param: "n" });
  });

  it("refuses logprobs with logprobs_not_supported when the provider is anthropic", () => {
    expect(parameterGap(anthropic, { needsLogprobs: true })).toMatchObject({ code: "logprobs_not_supported" });
  });

  it("refuses a strict json_schema with json_schema_not_supported when the provider is anthropic", () => {
    const gap = parameterGap(anthropic, { needsStrictSchema: true });
    expect(gap).toMatchObject({ code: "json_schema_not_supported", param: "response_format" });
  });

  it("passes everything when the provider is OpenAI-compatible", () => {
    expect(parameterGap(openai, { choices: 3, needsLogprobs: true, needsStrictSchema: true })).toBeNull();
  });

  it("passes a plain request when the provider is anthropic", () => {
    expect(parameterGap(anthropic, { choices: 1 })).toBeNull();
  });
});
