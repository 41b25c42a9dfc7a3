import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { freePorts } from "../../../test/harness/ports.js";
import { startOpenAIMock, type MockHandle } from "../../../test/mocks/openai-mock.js";
import { callOptions, providerConfig, TEST_API_KEY } from "../../../test/mocks/provider-config.js";
import type { ProviderConfig } from "../../config/types.js";
import { createHttpClient, type HttpClient } from "../shared/http.js";
import type { ChatCompletionChunk, ChatRequest } from "../../openai/types.js";
import type { ProviderAdapter, StreamResult } from "../types.js";
import { UpstreamError } from "../types.js";
import { createOpenAIAdapter } from "./adapter.js";

const REQUEST: ChatRequest = { model: "route-name", messages: [{ role: "user", content: "Say hello" }] };

let mock: MockHandle;
let http: HttpClient;
let adapter: ProviderAdapter;
let provider: ProviderConfig;

beforeAll(async () => {
  mock = await startOpenAIMock({ chunks: 4 });
});
afterAll(async () => {
  await mock.close();
});
beforeEach(() => {
  mock.setFaults(null);
  mock.requests.length = 0;
  http = createHttpClient();
  adapter = createOpenAIAdapter({ http });
  provider = providerConfig({ baseURL: `${mock.url}/v1`, timeouts: { requestMs: 2_000, connectMs: 1_000 } });
});
afterEach(async () => {
  await adapter.close();
});

async function collect(result: StreamResult): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of result.chunks) chunks.push(chunk);
  return chunks;
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

function contentOf(chunks: ChatCompletionChunk[]): string {
  return chunks
    .map((c) => {
      const choice = c.choices[0] as { delta?: { content?: string } } | undefined;
      return choice?.delta?.content ?? "";
    })
    .join("");
}

describe("openai adapter", () => {
  it("returns the upstream completion when the upstream answers 200", async () => {
    const { body } = await adapter.complete(provider, REQUEST, callOptions());
    expect(body.object).toBe("chat.completion");
    expect(body.choices[0]).toMatchObject({ message: { role: "assistant", content: "Mock reply to: Say hello" } });
    expect(body.usage).toMatchObject({ prompt_tokens: expect.any(Number) as number, completion_tokens: 6 });
  });

  it("sends the Bearer key, the upstream model and unknown fields when it calls the upstream", async () => {
    await adapter.complete(
      providerConfig({ ...provider, headers: { "OpenAI-Organization": "org-1" } }),
      { ...REQUEST, temperature: 0.2, seed: 7, stream_options: { include_usage: true } },
      callOptions(),
    );
    const sent = mock.requests[0]!;
    expect(sent.url).toBe("/v1/chat/completions");
    expect(sent.headers["authorization"]).toBe(`Bearer ${TEST_API_KEY}`);
    expect(sent.headers["openai-organization"]).toBe("org-1");
    expect(sent.body).toEqual({ model: "upstream-model", messages: REQUEST.messages, temperature: 0.2, seed: 7 });
  });

  it("omits the authorization header when the provider has no key", async () => {
    await adapter.complete(provider, REQUEST, callOptions({ apiKey: null }));
    expect(mock.requests[0]!.headers["authorization"]).toBeUndefined();
  });

  it("streams chunks and a final usage chunk when the client did not ask for usage", async () => {
    const chunks = await collect(await adapter.stream(provider, { ...REQUEST, stream: true }, callOptions()));
    expect(mock.requests[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(contentOf(chunks)).toBe("Mock reply to: Say hello");
    expect(chunks.length).toBeGreaterThan(4);
    const last = chunks[chunks.length - 1]!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ completion_tokens: 6 });
  });

  it("keeps the client's other stream_options when it adds include_usage", async () => {
    const request = { ...REQUEST, stream: true, stream_options: { include_obfuscation: false } };
    await collect(await adapter.stream(provider, request, callOptions()));
    expect(mock.requests[0]!.body).toMatchObject({
      stream_options: { include_obfuscation: false, include_usage: true },
    });
  });

  it("passes tool call deltas through when the upstream streams a tool call", async () => {
    const tools = [{ type: "function", function: { name: "search", parameters: { type: "object" } } }];
    const request = { ...REQUEST, messages: [{ role: "user", content: "use a tool" }], tools, stream: true };
    const chunks = await collect(await adapter.stream(provider, request, callOptions()));
    const args = chunks
      .flatMap((c) => c.choices as { delta?: { tool_calls?: { function?: { arguments?: string } }[] } }[])
      .flatMap((c) => c.delta?.tool_calls ?? [])
      .map((t) => t.function?.arguments ?? "")
      .join("");
    expect(JSON.parse(args)).toEqual({ query: "use a tool" });
  });

  it("reuses one keep-alive connection when requests are sequential", async () => {
    // undici frees a socket one event-loop turn after a response ends (pipelining 1), hence the setImmediate.
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    const before = mock.connections().opened;
    await adapter.complete(provider, REQUEST, callOptions());
    await turn();
    await collect(await adapter.stream(provider, { ...REQUEST, stream: true }, callOptions()));
    await turn();
    await adapter.complete(provider, REQUEST, callOptions());
    expect(mock.connections().opened - before).toBe(1);
    expect(new Set(mock.requests.map((r) => r.connection)).size).toBe(1);
  });

  it("throws http 429 with retryAfterMs when the upstream rate-limits with retry-after seconds", async () => {
    mock.setFaults({ status: 429, retryAfter: "2" });
    const err = await failure(adapter.complete(provider, REQUEST, callOptions()));
    expect(err).toMatchObject({ kind: "http", status: 429, retryAfterMs: 2000 });
    expect(err.message).toContain("Mock error 429");
  });

  it("parses an HTTP-date retry-after when the upstream sends one", async () => {
    mock.setFaults({ status: 503, retryAfter: new Date(Date.now() + 30_000).toUTCString() });
    const err = await failure(adapter.complete(provider, REQUEST, callOptions()));
    expect(err.status).toBe(503);
    expect(err.retryAfterMs).toBeGreaterThan(25_000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it("rejects stream() with the http error when the upstream fails before the first byte", async () => {
    mock.setFaults({ status: 500 });
    const err = await failure(adapter.stream(provider, { ...REQUEST, stream: true }, callOptions()));
    expect(err).toMatchObject({ kind: "http", status: 500, retryAfterMs: null });
  });

  it("maps a 400 to an http error when the upstream rejects the request", async () => {
    mock.setFaults({ status: 400 });
    const err = await failure(adapter.complete(provider, REQUEST, callOptions()));
    expect(err).toMatchObject({ kind: "http", status: 400 });
  });

  it("never puts the key in the message when the upstream echoes it in an error", async () => {
    mock.setFaults({ status: 401, errorBody: JSON.stringify({ error: { message: `Bad key ${TEST_API_KEY}` } }) });
    const err = await failure(adapter.complete(provider, REQUEST, callOptions()));
    expect(err.message).not.toContain(TEST_API_KEY);
    expect(JSON.stringify(err)).not.toContain(TEST_API_KEY);
  });

  it("throws connect when nothing listens on the port", async () => {
    const [port] = await freePorts(1);
    const closed = providerConfig({ ...provider, baseURL: `http://127.0.0.1:${port}/v1` });
    const err = await failure(adapter.complete(closed, REQUEST, callOptions()));
    expect(err.kind).toBe("connect");
    expect(err.message).not.toContain(TEST_API_KEY);
  });

  it("throws reset when the upstream drops the connection before the headers", async () => {
    mock.setFaults({ resetBeforeHeaders: true });
    expect((await failure(adapter.complete(provider, REQUEST, callOptions()))).kind).toBe("reset");
    expect((await failure(adapter.stream(provider, { ...REQUEST, stream: true }, callOptions()))).kind).toBe("reset");
  });

  it("throws reset when the upstream drops the connection after the headers", async () => {
    mock.setFaults({ resetAfterHeaders: true });
    expect((await failure(adapter.complete(provider, REQUEST, callOptions()))).kind).toBe("reset");
  });

  it("throws timeout when the headers take longer than requestMs", async () => {
    mock.setFaults({ delayHeadersMs: 1_500 });
    const slow = providerConfig({ ...provider, timeouts: { requestMs: 100, connectMs: 1_000 } });
    const err = await failure(adapter.complete(slow, REQUEST, callOptions()));
    expect(err).toMatchObject({ kind: "timeout" });
  });

  it("throws timeout when the first body byte takes longer than requestMs", async () => {
    mock.setFaults({ firstByteDelayMs: 1_500 });
    const slow = providerConfig({ ...provider, timeouts: { requestMs: 100, connectMs: 1_000 } });
    expect((await failure(adapter.complete(slow, REQUEST, callOptions()))).kind).toBe("timeout");
  });

  it("throws malformed when a 200 body is not JSON", async () => {
    mock.setFaults({ malformedJson: true });
    expect((await failure(adapter.complete(provider, REQUEST, callOptions()))).kind).toBe("malformed");
  });

  it("skips and reports malformed SSE events when the stream is otherwise whole", async () => {
    // Issue 15: a malformed event is skipped and counted, not fatal (it used to end the stream).
    mock.setFaults({ malformedSse: true, malformedEventsAt: [2, 3, 4, 5] });
    let reported = 0;
    const options = callOptions({ onMalformedEvent: () => reported++ });
    const chunks = await collect(await adapter.stream(provider, { ...REQUEST, stream: true }, options));
    expect(contentOf(chunks)).toBe("Mock reply to: Say hello");
    expect(reported).toBe(5);
  });

  it("throws malformed from the iterator when the body ends without a finish_reason or [DONE]", async () => {
    mock.setFaults({ omitFinish: true });
    expect((await streamFailure()).error.kind).toBe("malformed");
  });

  it("throws malformed when a 200 completion has no finish_reason", async () => {
    mock.setFaults({ omitFinishReason: true });
    expect((await failure(adapter.complete(provider, REQUEST, callOptions()))).kind).toBe("malformed");
  });

  it("throws an http 5xx with the redacted upstream message when a 200 body is an error object", async () => {
    mock.setFaults({ inBandError: true, echoHeaders: true });
    const err = await failure(adapter.complete(provider, REQUEST, callOptions()));
    expect(err).toMatchObject({ kind: "http", status: 500 });
    expect(err.message).toContain("in-band error");
    expect(err.message).not.toContain(TEST_API_KEY);
  });

  it("keeps the upstream's code and param and classifies the rejection", async () => {
    const errorBody = JSON.stringify({
      error: {
        message: "maximum context length is 10",
        type: "invalid_request_error",
        param: "messages",
        code: "context_length_exceeded",
      },
    });
    mock.setFaults({ status: 400, errorBody });
    const err = await failure(adapter.complete(provider, REQUEST, callOptions()));
    expect(err).toMatchObject({ code: "context_length_exceeded", param: "messages", rejection: "context_length" });
  });

  it("throws reset from the iterator when the upstream dies mid-stream", async () => {
    mock.setFaults({ cutAfterChunks: 3 });
    const { chunks, error } = await streamFailure();
    expect(chunks).toBe(3);
    expect(error).toMatchObject({ kind: "reset" });
  });

  it("throws http 500 from the iterator when the upstream sends an error event mid-stream", async () => {
    mock.setFaults({ errorEventAfterChunks: 2 });
    const { chunks, error } = await streamFailure();
    expect(chunks).toBe(2);
    expect(error).toMatchObject({ kind: "http", status: 500 });
    expect(error.message).toContain("Mock mid-stream failure");
  });

  it("accepts the stream when [DONE] is missing but a finish_reason arrived", async () => {
    mock.setFaults((n) => (n === 1 ? { omitTerminator: true } : null));
    const chunks = await collect(await adapter.stream(provider, { ...REQUEST, stream: true }, callOptions()));
    expect(contentOf(chunks)).toBe("Mock reply to: Say hello");
  });

  it("throws aborted when the signal aborts before the headers", async () => {
    mock.setFaults({ delayHeadersMs: 500 });
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort();
    }, 50);
    const err = await failure(adapter.complete(provider, REQUEST, callOptions({ signal: controller.signal })));
    expect(err).toMatchObject({ kind: "aborted" });
  });

  it("throws aborted from the iterator when the signal aborts mid-stream", async () => {
    const slowMock = await startOpenAIMock({ chunks: 20, chunkIntervalMs: 20 });
    try {
      const controller = new AbortController();
      const slow = providerConfig({ ...provider, baseURL: slowMock.url });
      const result = await adapter.stream(
        slow,
        { ...REQUEST, stream: true },
        callOptions({ signal: controller.signal }),
      );
      const err = await failure(
        (async () => {
          const iterator = result.chunks[Symbol.asyncIterator]();
          while (!(await iterator.next()).done) controller.abort();
        })(),
      );
      expect(err.kind).toBe("aborted");
    } finally {
      await slowMock.close();
    }
  });

  it("releases the connection when the consumer stops reading early", async () => {
    const slowMock = await startOpenAIMock({ chunks: 50, chunkIntervalMs: 20 });
    try {
      const slow = providerConfig({ ...provider, baseURL: slowMock.url });
      const result = await adapter.stream(slow, { ...REQUEST, stream: true }, callOptions());
      const iterator = result.chunks[Symbol.asyncIterator]();
      await iterator.next();
      await iterator.next();
      await iterator.return?.(); // what `break` in a for-await does
      await waitFor(() => slowMock.connections().open === 0);
      expect(slowMock.connections().open).toBe(0);
      const { body } = await adapter.complete(slow, REQUEST, callOptions());
      expect(body.choices).toHaveLength(1);
    } finally {
      await slowMock.close();
    }
  });

  it("releases the connection when the consumer returns before reading any chunk", async () => {
    const slowMock = await startOpenAIMock({ chunks: 50, chunkIntervalMs: 20 });
    try {
      const slow = providerConfig({ ...provider, baseURL: slowMock.url });
      const result = await adapter.stream(slow, { ...REQUEST, stream: true }, callOptions());
      await result.chunks[Symbol.asyncIterator]().return?.();
      await waitFor(() => slowMock.connections().open === 0);
      expect(slowMock.connections().open).toBe(0);
    } finally {
      await slowMock.close();
    }
  });

  it("applies a fault only to the first request when times is 1", async () => {
    mock.setFaults({ status: 503, times: 1 });
    await failure(adapter.complete(provider, REQUEST, callOptions()));
    const { body } = await adapter.complete(provider, REQUEST, callOptions());
    expect(body.choices).toHaveLength(1);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 1_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}
