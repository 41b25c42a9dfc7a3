import { describe, expect, it } from "vitest";
import { callOptions, providerConfig } from "../../../test/mocks/provider-config.js";
import type { ChatCompletionChunk, ChatRequest } from "../../openai/types.js";
import { answerOf } from "../../verify/answer.js";
import { verifyStructure } from "../../verify/structure.js";
import { createSimulatedAdapter } from "./adapter.js";

const provider = providerConfig({
  id: "default/sim",
  type: "simulated",
  baseURL: "",
  simulated: { timeToFirstTokenMs: 0, tokensPerSecond: 0, failureRate: 0, outputTokens: 12 },
});
const adapter = createSimulatedAdapter();
const weather = {
  tools: [
    {
      type: "function",
      function: {
        name: "get_weather",
        parameters: {
          type: "object",
          properties: { city: { type: "string" }, days: { type: "integer", minimum: 1 }, unit: { enum: ["c", "f"] } },
          required: ["city", "days"],
          additionalProperties: false,
        },
      },
    },
  ],
};

function ask(content: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model: "m", messages: [{ role: "user", content }], ...extra };
}

async function complete(request: ChatRequest) {
  return (await adapter.complete(provider, request, callOptions())).body;
}

async function streamed(request: ChatRequest): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const c of (await adapter.stream(provider, { ...request, stream: true }, callOptions())).chunks)
    chunks.push(c);
  return chunks;
}

describe("simulated provider: what agents and JSON clients need (issue 16)", () => {
  it("calls a tool with arguments that validate against its parameters, then answers the tool result in text", async () => {
    const first = await complete(ask("weather in Oslo?", weather));
    expect(verifyStructure({ request: ask("weather in Oslo?", weather), answer: answerOf(first) })).toEqual({
      verdict: "accept",
      reason: "tool_calls_valid",
    });
    expect(first.choices[0]).toMatchObject({ finish_reason: "tool_calls" });
    const call = (first.choices[0] as { message: { tool_calls: { id: string }[] } }).message.tool_calls[0]!;
    const after = await complete({
      ...weather,
      model: "m",
      messages: [
        { role: "user", content: "weather in Oslo?" },
        { role: "assistant", content: null, tool_calls: [call] },
        { role: "tool", tool_call_id: call.id, content: "sunny" },
      ],
    });
    expect(after.choices[0]).toMatchObject({ finish_reason: "stop" });
    expect(typeof (after.choices[0] as { message: { content: unknown } }).message.content).toBe("string");
  });

  it("honours tool_choice none and a named function", async () => {
    const none = await complete(ask("weather?", { ...weather, tool_choice: "none" }));
    expect(none.choices[0]).toMatchObject({ finish_reason: "stop" });
    const named = await complete(
      ask("hi", { ...weather, tool_choice: { type: "function", function: { name: "get_weather" } } }),
    );
    expect(named.choices[0]).toMatchObject({ message: { tool_calls: [{ function: { name: "get_weather" } }] } });
  });

  it("answers JSON mode with a JSON object and json_schema with content that validates", async () => {
    const format = {
      type: "json_schema",
      json_schema: {
        name: "person",
        schema: {
          type: "object",
          properties: { name: { type: "string" }, age: { type: "integer" } },
          required: ["name", "age"],
        },
      },
    };
    for (const response_format of [{ type: "json_object" }, format]) {
      const req = ask("describe a person", { response_format });
      expect(verifyStructure({ request: req, answer: answerOf(await complete(req)) }).verdict).toBe("accept");
    }
  });

  it("returns n choices and per-token logprobs, and bills every choice", async () => {
    const one = await complete(ask("hello"));
    const three = await complete(ask("hello", { n: 3, logprobs: true, top_logprobs: 2 }));
    expect(three.choices).toHaveLength(3);
    const lp = (three.choices[0] as { logprobs: { content: { logprob: number; top_logprobs: unknown[] }[] } }).logprobs;
    expect(lp.content.length).toBeGreaterThan(0);
    expect(lp.content[0]?.top_logprobs).toHaveLength(2);
    expect(lp.content.every((t) => t.logprob <= 0)).toBe(true);
    expect(three.usage?.completion_tokens).toBe(3 * (one.usage?.completion_tokens ?? 0));
  });

  it("streams a tool call as tool_calls deltas and n choices by index, ending with usage", async () => {
    const tool = await streamed(ask("weather in Oslo?", weather));
    const delta = tool.find(
      (c) => (c.choices[0] as { delta?: { tool_calls?: unknown } } | undefined)?.delta?.tool_calls,
    );
    expect(delta).toBeDefined();
    expect(tool[tool.length - 1]?.usage).toBeDefined();
    const many = await streamed(ask("hello", { n: 2 }));
    const indexes = new Set(many.flatMap((c) => c.choices.map((x) => (x as { index: number }).index)));
    expect([...indexes].sort()).toEqual([0, 1]);
  });
});
