/**
 * n > 1, logprobs and strict json_schema (issue 16): passed through to providers that honour them, routed around
 * anthropic candidates, and a 400 naming the parameter when no candidate is left — never a silently dropped
 * parameter. The official OpenAI SDK is the client.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicMock } from "../mocks/anthropic-mock.js";
import type { MockHandle } from "../mocks/mock-server.js";
import { startOpenAIMock, type OpenAIMockHandle } from "../mocks/openai-mock.js";
import { providerConfig } from "../mocks/provider-config.js";
import { mockProvider, route, routerConfig, startJsonRouter, type JsonRouter } from "./json-router.js";

let upstream: OpenAIMockHandle;
let claude: MockHandle;
let t: JsonRouter;

const SIMULATED = providerConfig({
  id: "default/sim",
  type: "simulated",
  baseURL: "",
  model: "sim-model",
  credentialKey: null,
  simulated: { timeToFirstTokenMs: 0, tokensPerSecond: 0, failureRate: 0, outputTokens: 8 },
});

beforeAll(async () => {
  upstream = await startOpenAIMock();
  claude = await startAnthropicMock();
  const anthropic = { ...mockProvider("claude", claude.url, 90, [0.1, 0.2]), type: "anthropic" as const };
  const providers = [mockProvider("gpt", upstream.url, 80, [1, 2]), anthropic, SIMULATED];
  const routes = [
    route("mixed", ["default/claude", "default/gpt"], "default/gpt"),
    route("claude-only", ["default/claude"], "default/claude"),
    route("sim", ["default/sim"], "default/sim"),
  ];
  t = await startJsonRouter(routerConfig(providers, routes), { "default.gpt": "k1", "default.claude": "k2" });
});

afterAll(async () => {
  await t.stop();
  await upstream.close();
  await claude.close();
});

const ask = { messages: [{ role: "user" as const, content: "Say hello" }] };

async function refusal(p: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const err: unknown = await p.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof OpenAI.APIError)) throw new Error(`expected an APIError, got ${String(err)}`);
  return err;
}

describe("n > 1 and parameter capabilities", () => {
  it("returns 3 choices when n=3 goes to the simulated provider", async () => {
    const c = await t.client.chat.completions.create({ model: "sim", n: 3, ...ask });
    expect(c.choices.map((x) => x.index)).toEqual([0, 1, 2]);
  });

  it("relays 3 choice indexes when n=3 streams from the simulated provider", async () => {
    const stream = await t.client.chat.completions.create({ model: "sim", n: 3, stream: true, ...ask });
    const seen = new Set<number>();
    for await (const chunk of stream) for (const c of chunk.choices) seen.add(c.index);
    expect([...seen].sort()).toEqual([0, 1, 2]);
  });

  it("passes n through and returns 3 choices when n=3 goes to an OpenAI-compatible upstream", async () => {
    upstream.requests.length = 0;
    const c = await t.client.chat.completions.create({ model: "mixed", n: 3, ...ask });
    expect(c.choices).toHaveLength(3);
    expect(upstream.requests[0]?.body).toMatchObject({ n: 3 });
  });

  it("routes n=2 around the anthropic candidate when the route has another", async () => {
    const res = await t.client.chat.completions.create({ model: "mixed", n: 2, ...ask }).withResponse();
    expect(res.response.headers.get("x-routewise-provider")).toBe("default/gpt");
    expect(res.data.choices).toHaveLength(2);
  });

  it("refuses n=2 with 400 n_not_supported when the route is anthropic-only", async () => {
    const err = await refusal(t.client.chat.completions.create({ model: "claude-only", n: 2, ...ask }));
    expect(err.status).toBe(400);
    expect(err.code).toBe("n_not_supported");
    expect(err.param).toBe("n");
  });

  it("refuses logprobs with 400 logprobs_not_supported when the route is anthropic-only", async () => {
    const err = await refusal(t.client.chat.completions.create({ model: "claude-only", logprobs: true, ...ask }));
    expect(err.status).toBe(400);
    expect(err.code).toBe("logprobs_not_supported");
    expect(err.param).toBe("logprobs");
  });

  it("refuses a strict json_schema with 400 json_schema_not_supported when the route is anthropic-only", async () => {
    const response_format = {
      type: "json_schema" as const,
      json_schema: { name: "x", strict: true, schema: { type: "object", properties: {} } },
    };
    const err = await refusal(t.client.chat.completions.create({ model: "claude-only", response_format, ...ask }));
    expect(err.status).toBe(400);
    expect(err.code).toBe("json_schema_not_supported");
  });

  it("passes logprobs, parallel_tool_calls and tool_choice through when the upstream is OpenAI-compatible", async () => {
    upstream.requests.length = 0;
    const tools = [{ type: "function" as const, function: { name: "f", parameters: { type: "object" } } }];
    await t.client.chat.completions.create({
      model: "mixed",
      logprobs: true,
      top_logprobs: 2,
      parallel_tool_calls: false,
      tool_choice: "auto",
      tools,
      ...ask,
    });
    expect(upstream.requests[0]?.body).toMatchObject({ logprobs: true, top_logprobs: 2, parallel_tool_calls: false });
  });
});
