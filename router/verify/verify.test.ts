import { describe, expect, it } from "vitest";
import type { ChatCompletion, ChatRequest } from "../openai/types.js";
import { answerOf } from "./answer.js";
import { evaluate } from "./arithmetic.js";
import { logprobsVerifier } from "./logprobs.js";
import { computations, finalAnswers, verifyMath } from "./math.js";
import { verifyRefusal } from "./refusal.js";
import { checkAnswer } from "./run.js";
import { verifyStructure } from "./structure.js";
import type { Answer, VerifyInput } from "./types.js";

const base: ChatRequest = { model: "m", messages: [{ role: "user", content: "q" }] };

function input(answer: Partial<Answer>, request: Partial<ChatRequest> = {}, task?: VerifyInput["task"]): VerifyInput {
  return {
    request: { ...base, ...request },
    answer: { content: "", toolCalls: [], finishReason: "stop", logprobs: null, ...answer },
    ...(task ? { task } : {}),
  };
}

const weather = {
  tools: [
    {
      type: "function",
      function: {
        name: "get_weather",
        parameters: {
          type: "object",
          properties: { city: { type: "string" }, days: { type: "integer", minimum: 1 } },
          required: ["city"],
          additionalProperties: false,
        },
      },
    },
  ],
};
const schemaFormat = {
  response_format: {
    type: "json_schema",
    json_schema: {
      name: "person",
      schema: { type: "object", properties: { age: { type: "number" } }, required: ["age"] },
    },
  },
};

describe("structure", () => {
  it.each([
    ["a truncated answer", input({ content: "{", finishReason: "length" }), "reject", "truncated"],
    ["plain text with nothing asked", input({ content: "hi" }), "abstain", "no_structure_requested"],
    [
      "JSON mode, an object",
      input({ content: '{"a":1}' }, { response_format: { type: "json_object" } }),
      "accept",
      "json_valid",
    ],
    [
      "JSON mode in a ```json fence",
      input({ content: '```json\n{"a":1}\n```' }, { response_format: { type: "json_object" } }),
      "accept",
      "json_valid",
    ],
    [
      "JSON mode, prose",
      input({ content: "Sure! {a:1}" }, { response_format: { type: "json_object" } }),
      "reject",
      "json_invalid",
    ],
    [
      "JSON mode, an array",
      input({ content: "[1]" }, { response_format: { type: "json_object" } }),
      "reject",
      "json_invalid",
    ],
    ["json_schema, valid", input({ content: '{"age": 3}' }, schemaFormat), "accept", "json_schema_valid"],
    [
      "json_schema, missing a required field",
      input({ content: '{"name": "x"}' }, schemaFormat),
      "reject",
      "json_schema_invalid",
    ],
    [
      "a valid tool call",
      input({ toolCalls: [{ name: "get_weather", arguments: '{"city":"Oslo","days":2}' }] }, weather),
      "accept",
      "tool_calls_valid",
    ],
    [
      "an undeclared tool",
      input({ toolCalls: [{ name: "rm_rf", arguments: "{}" }] }, weather),
      "reject",
      "tool_unknown",
    ],
    [
      "malformed arguments",
      input({ toolCalls: [{ name: "get_weather", arguments: '{"city":' }] }, weather),
      "reject",
      "tool_arguments_invalid",
    ],
    [
      "arguments against the schema",
      input({ toolCalls: [{ name: "get_weather", arguments: '{"city":"Oslo","days":0}' }] }, weather),
      "reject",
      "tool_arguments_invalid",
    ],
    [
      "a required tool call that is missing",
      input({ content: "It is sunny." }, { ...weather, tool_choice: "required" }),
      "reject",
      "tool_call_missing",
    ],
  ])("%s", (_name, i, verdict, reason) => {
    expect(verifyStructure(i)).toEqual({ verdict, reason });
  });

  it("abstains from schema checks it cannot compile, and keeps its validator cache bounded", () => {
    const broken = { response_format: { type: "json_schema", json_schema: { schema: { type: "no-such-type" } } } };
    expect(verifyStructure(input({ content: '{"a":1}' }, broken)).verdict).toBe("accept");
    for (let i = 0; i < 600; i++) {
      const format = { type: "json_schema", json_schema: { schema: { type: "object", minProperties: i } } };
      verifyStructure(input({ content: "{}" }, { response_format: format }));
    }
  });
});

describe("math", () => {
  it("evaluates arithmetic and nothing else", () => {
    expect(evaluate("2 + 3 * 4")).toBe(14);
    expect(evaluate("(2 + 3) * 4")).toBe(20);
    expect(evaluate("-3 + 5")).toBe(2);
    expect(evaluate("2 ^ 10")).toBe(1024);
    expect(evaluate("2 ** 3 ** 2")).toBe(512);
    expect(evaluate("1 / 0")).toBeNull();
    expect(evaluate("process.exit()")).toBeNull();
    expect(evaluate("2 +")).toBeNull();
  });

  it("finds each step of a chain and each calculator annotation", () => {
    const steps = computations("Natalia sold 48/2 = <<48/2=24>>24 clips.\nThen 2 + 3 = 5 * 2 = 10.");
    expect(steps.map((s) => [s.expression, s.computed, s.shown, s.leading])).toEqual([
      ["48/2", 24, 24, null],
      ["2 + 3", 5, 10, 5],
      ["5 * 2", 10, 10, null],
    ]);
  });

  it("reads final answers in the usual forms", () => {
    expect(finalAnswers("so #### 72")).toEqual([72]);
    expect(finalAnswers("\\boxed{42}")).toEqual([42]);
    expect(finalAnswers("The answer is **18**.")).toEqual([18]);
    expect(finalAnswers("Answer: 7")).toEqual([7]);
    expect(finalAnswers("  12. ")).toEqual([12]);
    expect(finalAnswers("9 * 7 = 63.\n\nSo, Edgar's brother eats 63 pretzels in a week.")).toEqual([63]);
    expect(finalAnswers("Therefore, after 3 years he has 120 dollars.")).toEqual([]);
  });

  it.each([
    ["correct steps and answer", "48 / 2 = 24, and 48 + 24 = 72.\n#### 72", undefined, "accept", "arithmetic_checked"],
    ["a wrong step", "12 * 12 = 124, so the answer is 124", undefined, "reject", "arithmetic_wrong"],
    ["a wrong annotation", "She has <<5*3=16>>16 apples.", undefined, "reject", "arithmetic_wrong"],
    ["a wrong link in a chain", "2 + 3 = 5 * 2 = 11", undefined, "reject", "arithmetic_wrong"],
    ["rounding to the digits shown", "10 / 3 = 3.33, the answer is 3.33", undefined, "accept", "arithmetic_checked"],
    ["rounding to an integer is not allowed", "10 / 3 = 3", undefined, "reject", "arithmetic_wrong"],
    [
      "thousands separators and unicode operators",
      "1,200 × 3 = 3,600 and 3,600 ÷ 4 = 900. The answer is 900.",
      undefined,
      "accept",
      "arithmetic_checked",
    ],
    ["currency", "$5 + $3 = $8. The answer is 8.", undefined, "accept", "arithmetic_checked"],
    [
      "two different final answers",
      "The answer is 5. ... Final answer: 6",
      undefined,
      "reject",
      "conflicting_final_answers",
    ],
    ["the same final answer twice", "The answer is 5. #### 5", undefined, "accept", "final_answer_present"],
    [
      "a final answer that is not the last value computed",
      "3 * 4 = 12. The answer is 13.",
      undefined,
      "reject",
      "final_answer_disagrees",
    ],
    ["a math request with no final answer", "Let me think about the trains.", "math", "reject", "final_answer_missing"],
    ["prose with no arithmetic", "Paris is the capital of France.", undefined, "abstain", "no_arithmetic"],
    ["algebra is not arithmetic", "Let 2x + 3 = 7, so x = 2.", undefined, "abstain", "no_arithmetic"],
    [
      "a chain of expressions",
      "140 * (1 - 0.10) = 140 * 0.90 = 126. The answer is 126.",
      undefined,
      "accept",
      "arithmetic_checked",
    ],
    [
      "variables inside an expression",
      "x - y - 2 - x/2 + 1 = 5, and 40/100 = 240/x",
      undefined,
      "abstain",
      "no_arithmetic",
    ],
    ["implicit multiplication", "A = 5000(1 + 0.025) = 5125", undefined, "abstain", "no_arithmetic"],
    ["code comparisons are not equations", "if (a == 10) { b = a + 1 }", undefined, "abstain", "no_arithmetic"],
  ] as const)("%s", (_name, content, task, verdict, reason) => {
    expect(verifyMath(input({ content }, {}, task))).toEqual({ verdict, reason });
  });
});

describe("refusal", () => {
  it.each([
    ["an answer", "The capital of France is Paris.", "accept", "answered"],
    ["a refusal", "I'm sorry, but I can't help with that request.", "reject", "refusal"],
    ["a curly-quote refusal", "I’m sorry, but I can’t assist with that.", "reject", "refusal"],
    ["a flat refusal", "I cannot provide that information.", "reject", "refusal"],
    ["an AI disclaimer", "As an AI, I do not have opinions.", "reject", "refusal"],
    ["a hedge", "It might be 1912, but I'm not sure.", "reject", "hedge"],
    ["an empty answer", "   ", "reject", "empty"],
    ["a repeated word", Array.from({ length: 40 }, () => "the").join(" "), "reject", "degenerate"],
    ["a repeated line", "Step one is here.\n".repeat(5), "reject", "degenerate"],
    [
      "a refusal quoted late in a long answer",
      `${Array.from({ length: 60 }, (_, i) => `point${i}`).join(" ")} Some bots say "I cannot help with that".`,
      "accept",
      "answered",
    ],
  ])("%s", (_name, content, verdict, reason) => {
    expect(verifyRefusal(input({ content }))).toEqual({ verdict, reason });
  });

  it("accepts a tool call with no text and rejects a filtered answer", () => {
    expect(verifyRefusal(input({ toolCalls: [{ name: "f", arguments: "{}" }] })).verdict).toBe("accept");
    expect(verifyRefusal(input({ content: "x", finishReason: "content_filter" })).reason).toBe("content_filter");
  });
});

describe("logprobs", () => {
  const verify = logprobsVerifier(-0.5);
  it("rejects below the threshold, accepts above, abstains without logprobs", () => {
    expect(verify(input({ content: "a", logprobs: [-0.1, -0.2] })).verdict).toBe("accept");
    expect(verify(input({ content: "a", logprobs: [-0.1, -2] })).verdict).toBe("reject");
    expect(verify(input({ content: "a" })).verdict).toBe("abstain");
  });
});

describe("answerOf", () => {
  it("reads the first choice's text, tool calls, finish reason and logprobs", () => {
    const completion: ChatCompletion = {
      id: "c",
      object: "chat.completion",
      model: "m",
      choices: [
        {
          index: 0,
          finish_reason: "tool_calls",
          message: {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: '{"x":1}' } }],
          },
          logprobs: { content: [{ token: "a", logprob: -0.5 }] },
        },
      ],
    };
    expect(answerOf(completion)).toEqual({
      content: "",
      toolCalls: [{ name: "f", arguments: '{"x":1}' }],
      finishReason: "tool_calls",
      logprobs: [-0.5],
    });
  });
});

describe("checkAnswer", () => {
  const options = { logprobsThreshold: -1 };
  it("stops at the first verifier that rejects, in the configured order", () => {
    const wrong = input({ content: "I'm not sure, but 2 + 2 = 5." });
    expect(checkAnswer(["math", "refusal"], wrong, options)).toEqual({
      accepted: false,
      verifier: "math",
      reason: "arithmetic_wrong",
    });
    expect(checkAnswer(["refusal", "math"], wrong, options)).toEqual({
      accepted: false,
      verifier: "refusal",
      reason: "hedge",
    });
  });

  it("accepts when every verifier accepts or abstains, and leaves judge to the cascade", () => {
    expect(
      checkAnswer(["structure", "math", "refusal", "logprobs", "judge"], input({ content: "Paris." }), options),
    ).toEqual({
      accepted: true,
    });
  });
});
