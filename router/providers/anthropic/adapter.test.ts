import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startAnthropicMock, TOOL_PREAMBLE, type MockHandle } from "../../../test/mocks/anthropic-mock.js";
import { callOptions, providerConfig, TEST_API_KEY } from "../../../test/mocks/provider-config.js";
import type { ProviderConfig } from "../../config/types.js";
import { createHttpClient } from "../shared/http.js";
import type { ChatCompletionChunk, ChatRequest } from "../../openai/types.js";
import type { ProviderAdapter, StreamResult } from "../types.js";
import { UpstreamError } from "../types.js";
import { anthropicEndpoint, createAnthropicAdapter } from "./adapter.js";

const REQUEST: ChatRequest = {
  model: "route-name",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Say hello" },
  ],
};
const TOOLS = [
  {
    type: "function",
    function: { name: "search", description: "Search", parameters: { type: "object", properties: {} } },
  },
];

interface Delta {
  role?: string;
  content?: string;
  tool_calls?: { index: number; id?: string; function?: { name?: string; arguments?: string } }[];
}
interface StreamChoice {
  delta: Delta;
  finish_reason: string | null;
}

let mock: MockHandle;
let adapter: ProviderAdapter;
let provider: ProviderConfig;

beforeAll(async () => {
  mock = await startAnthropicMock({ chunks: 4, cachedTokens: 7 });
});
afterAll(async () => {
  await mock.close();
});
beforeEach(() => {
  mock.setFaults(null);
  mock.requests.length = 0;
  adapter = createAnthropicAdapter({ http: createHttpClient(), nowSec: () => 1_700_000_000 });
  provider = providerConfig({ type: "anthropic", baseURL: mock.url, model: "claude-test" });
});
afterEach(async () => {
  await adapter.close();
});

async function collect(result: StreamResult): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of result.chunks) chunks.push(chunk);
  return chunks;
}

function choices(chunks: ChatCompletionChunk[]): StreamChoice[] {
  return chunks.flatMap((c) => c.choices as StreamChoice[]);
}

async function failure(promise: Promise<unknown>): Promise<UpstreamError> {
  const err: unknown = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof UpstreamError)) throw new Error(`expected an UpstreamError, got ${String(err)}`);
  return err;
}

async function streamFailure(): Promise<{ chunks: number; error: UpstreamError }> {
  const result = await adapter.stream(provider, { ...REQUEST, stream: true }, callOptions());
  let chunks = 0;
  const error = await failure(
    (async () => {
      const iterator = result.chunks[Symbol.asyncIterator]();
      while (!(await iterator.next()).done) chunks++;
    })(),
  );
  return { chunks, error };
}

describe("anthropic adapter", () => {
  it("sends x-api-key, anthropic-version and the translated body when it completes", async () => {
    await adapter.complete(provider, { ...REQUEST, max_tokens: 100 }, callOptions());
    const sent = mock.requests[0]!;
    expect(sent.url).toBe("/v1/messages");
    expect(sent.headers["x-api-key"]).toBe(TEST_API_KEY);
    expect(sent.headers["anthropic-version"]).toBe("2023-06-01");
    expect(sent.headers["authorization"]).toBeUndefined();
    expect(sent.body).toEqual({
      model: "claude-test",
      max_tokens: 100,
      system: "Be brief.",
      messages: [{ role: "user", content: [{ type: "text", text: "Say hello" }] }],
    });
  });

  it("does not double /v1 when the base URL already ends with /v1", () => {
    expect(anthropicEndpoint(providerConfig({ baseURL: "https://api.anthropic.com/v1/" })).path).toBe("/v1/messages");
    expect(anthropicEndpoint(providerConfig({ baseURL: "https://gw.example.com/anthropic" })).path).toBe(
      "/anthropic/v1/messages",
    );
  });

  it("returns an OpenAI completion with cache-aware usage when the upstream answers", async () => {
    const { body } = await adapter.complete(provider, REQUEST, callOptions());
    expect(body).toMatchObject({
      id: "msg_mock_1",
      object: "chat.completion",
      created: 1_700_000_000,
      model: "claude-test",
    });
    expect(body.choices[0]).toMatchObject({
      finish_reason: "stop",
      message: { role: "assistant", content: "Mock reply to: Say hello" },
    });
    const usage = body.usage!;
    expect(usage.prompt_tokens_details).toEqual({ cached_tokens: 7 });
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
  });

  it("returns tool_calls with JSON arguments when the model calls a tool", async () => {
    const request = { ...REQUEST, messages: [{ role: "user", content: "use a tool please" }], tools: TOOLS };
    const { body } = await adapter.complete(provider, request, callOptions());
    expect((mock.requests[0]!.body as { tools: unknown }).tools).toEqual([
      { name: "search", description: "Search", input_schema: { type: "object", properties: {} } },
    ]);
    expect(body.choices[0]).toMatchObject({
      finish_reason: "tool_calls",
      message: {
        content: TOOL_PREAMBLE,
        tool_calls: [
          {
            id: "toolu_mock_1",
            type: "function",
            function: { name: "search", arguments: '{"query":"use a tool please"}' },
          },
        ],
      },
    });
  });

  it("streams a role chunk, text deltas, the finish reason and a final usage chunk when streaming text", async () => {
    const chunks = await collect(await adapter.stream(provider, { ...REQUEST, stream: true }, callOptions()));
    expect(mock.requests[0]!.body).toMatchObject({ stream: true });
    const all = choices(chunks);
    expect(all[0]!.delta).toEqual({ role: "assistant", content: "" });
    expect(all.map((c) => c.delta.content ?? "").join("")).toBe("Mock reply to: Say hello");
    expect(all[all.length - 1]!.finish_reason).toBe("stop");
    const last = chunks[chunks.length - 1]!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({
      completion_tokens: expect.any(Number) as number,
      prompt_tokens_details: { cached_tokens: 7 },
    });
    expect(chunks.every((c) => c.id === "msg_mock_1")).toBe(true);
  });

  it("streams tool call deltas with index 0 and concatenable arguments when the model calls a tool", async () => {
    const request = { ...REQUEST, messages: [{ role: "user", content: "tool time" }], tools: TOOLS, stream: true };
    const all = choices(await collect(await adapter.stream(provider, request, callOptions())));
    const calls = all.flatMap((c) => c.delta.tool_calls ?? []);
    expect(calls[0]).toMatchObject({ index: 0, id: "toolu_mock_1", function: { name: "search", arguments: "" } });
    expect(calls.every((c) => c.index === 0)).toBe(true);
    expect(JSON.parse(calls.map((c) => c.function?.arguments ?? "").join(""))).toEqual({ query: "tool time" });
    expect(all.map((c) => c.delta.content ?? "").join("")).toBe(TOOL_PREAMBLE);
    expect(all[all.length - 1]!.finish_reason).toBe("tool_calls");
  });

  it("throws an http 529 when Anthropic is overloaded", async () => {
    mock.setFaults({ status: 529 });
    const err = await failure(adapter.complete(provider, REQUEST, callOptions()));
    expect(err).toMatchObject({ kind: "http", status: 529 });
    expect(err.message).toContain("Mock error 529");
  });

  it("rejects stream() with http 429 and retryAfterMs when Anthropic rate-limits", async () => {
    mock.setFaults({ status: 429, retryAfter: "12" });
    const err = await failure(adapter.stream(provider, { ...REQUEST, stream: true }, callOptions()));
    expect(err).toMatchObject({ kind: "http", status: 429, retryAfterMs: 12_000 });
  });

  it("never puts the key in the message when the upstream echoes it", async () => {
    const errorBody = JSON.stringify({
      type: "error",
      error: { type: "authentication_error", message: `bad ${TEST_API_KEY}` },
    });
    mock.setFaults({ status: 401, errorBody });
    const err = await failure(adapter.complete(provider, REQUEST, callOptions()));
    expect(err.status).toBe(401);
    expect(err.message).not.toContain(TEST_API_KEY);
  });

  it("throws http 529 from the iterator when an error event arrives mid-stream", async () => {
    mock.setFaults({ errorEventAfterChunks: 4 });
    const { chunks, error } = await streamFailure();
    expect(chunks).toBeGreaterThan(0);
    expect(error).toMatchObject({ kind: "http", status: 529 });
    expect(error.message).toContain("Overloaded");
  });

  it("throws reset from the iterator when the connection is cut mid-stream", async () => {
    mock.setFaults({ cutAfterChunks: 5 });
    const { error } = await streamFailure();
    expect(error.kind).toBe("reset");
  });

  it("skips and reports events that are not typed JSON objects", async () => {
    // Issue 15: a malformed event is skipped and counted, not fatal (it used to end the stream).
    mock.setFaults({ malformedSse: true, malformedEventsAt: [3, 4, 5, 6] });
    let reported = 0;
    const options = callOptions({ onMalformedEvent: () => reported++ });
    const all = choices(await collect(await adapter.stream(provider, { ...REQUEST, stream: true }, options)));
    expect(all.map((c) => c.delta.content ?? "").join("")).toBe("Mock reply to: Say hello");
    expect(reported).toBe(5);
  });

  it("throws malformed when a 200 message has no stop_reason", async () => {
    mock.setFaults({ omitFinishReason: true });
    expect((await failure(adapter.complete(provider, REQUEST, callOptions()))).kind).toBe("malformed");
  });

  it("throws an http 5xx when a 200 body is an Anthropic error object", async () => {
    mock.setFaults({ inBandError: true });
    expect(await failure(adapter.complete(provider, REQUEST, callOptions()))).toMatchObject({
      kind: "http",
      status: 500,
    });
  });

  it("throws malformed from the iterator when the stream ends without message_stop", async () => {
    mock.setFaults({ omitTerminator: true });
    expect((await streamFailure()).error.kind).toBe("malformed");
  });

  it("throws malformed when a 200 body is not JSON", async () => {
    mock.setFaults({ malformedJson: true });
    expect((await failure(adapter.complete(provider, REQUEST, callOptions()))).kind).toBe("malformed");
  });

  it("releases the connection when the consumer stops reading early", async () => {
    const slowMock = await startAnthropicMock({ chunks: 40, chunkIntervalMs: 20 });
    try {
      const slow = providerConfig({ ...provider, baseURL: slowMock.url });
      const result = await adapter.stream(slow, { ...REQUEST, stream: true }, callOptions());
      const iterator = result.chunks[Symbol.asyncIterator]();
      await iterator.next();
      await iterator.next();
      await iterator.return?.(); // what `break` in a for-await does
      const deadline = Date.now() + 1_000;
      while (slowMock.connections().open > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(slowMock.connections().open).toBe(0);
    } finally {
      await slowMock.close();
    }
  });
});
