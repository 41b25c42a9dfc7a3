import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startOpenAIMock, type MockHandle } from "../../../test/mocks/openai-mock.js";
import { callOptions, providerConfig, TEST_API_KEY } from "../../../test/mocks/provider-config.js";
import type { ProviderConfig } from "../../config/types.js";
import type { ResponsesEvent } from "../../openai/responses-native.js";
import { createHttpClient } from "../shared/http.js";
import { UpstreamError, type ProviderAdapter } from "../types.js";
import { createOpenAIAdapter } from "./adapter.js";
import { toEvent, toResponse } from "./responses.js";

const REQUEST = { model: "upstream-model", input: "Say hello", store: false };

let mock: MockHandle;
let adapter: ProviderAdapter;
let provider: ProviderConfig;

beforeAll(async () => {
  mock = await startOpenAIMock({ chunks: 3, cachedTokens: 2 });
});
afterAll(async () => {
  await mock.close();
});
beforeEach(() => {
  mock.setFaults(null);
  mock.requests.length = 0;
  adapter = createOpenAIAdapter({ http: createHttpClient() });
  provider = providerConfig({
    baseURL: `${mock.url}/v1`,
    timeouts: { requestMs: 2_000, connectMs: 1_000 },
    capabilities: { tools: true, vision: true, jsonMode: true, streaming: true, responses: true },
  });
});
afterEach(async () => {
  await adapter.close();
});

async function failure(promise: Promise<unknown>): Promise<UpstreamError> {
  const err: unknown = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof UpstreamError)) throw new Error(`expected an UpstreamError, got ${String(err)}`);
  return err;
}

async function events(): Promise<ResponsesEvent[]> {
  const { events } = await (adapter.respondStream?.(provider, REQUEST, callOptions()) ?? Promise.reject(new Error()));
  const out: ResponsesEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

describe("openai adapter: the Responses API", () => {
  it("posts the request as is to {baseURL}/responses with the key and the request id", async () => {
    const result = await adapter.respond?.(provider, REQUEST, callOptions());
    const sent = mock.requests[0];
    expect(sent?.url).toBe("/v1/responses");
    expect(sent?.headers.authorization).toBe(`Bearer ${TEST_API_KEY}`);
    expect(sent?.headers["x-request-id"]).toBe("req-1");
    expect(sent?.body).toEqual({ ...REQUEST, stream: false });
    expect(result?.body).toMatchObject({ object: "response", status: "completed", id: "resp_mock_9" });
    expect(result?.body["usage"]).toMatchObject({ input_tokens_details: { cached_tokens: 2 } });
  });

  it("yields the stream's events up to response.completed, with their data as it came", async () => {
    const got = await events();
    expect(got[0]?.type).toBe("response.created");
    expect(got[got.length - 1]?.type).toBe("response.completed");
    expect(got.filter((e) => e.type === "response.output_text.delta")).toHaveLength(3);
    expect(JSON.parse(got[1]?.data ?? "")).toEqual(got[1]?.value);
    expect(mock.requests[0]?.body).toMatchObject({ stream: true });
  });

  it("fails a stream that ends without response.completed (never a truncated answer)", async () => {
    mock.setFaults({ omitFinish: true });
    const err = await failure(events());
    expect(err.kind).toBe("malformed");
    expect(err.message).toContain("response.completed");
  });

  it("fails a stream with an error event as the status it stands for, the key redacted", async () => {
    mock.setFaults({ errorEventAfterChunks: 3, errorEventStatus: 503, echoHeaders: true });
    const err = await failure(events());
    expect(err).toMatchObject({ kind: "http", status: 503 });
    expect(err.message).toContain("Mock mid-stream failure");
    expect(err.message).not.toContain(TEST_API_KEY);
  });

  it("skips malformed events and reports each", async () => {
    mock.setFaults({ malformedEventsAt: [2, 3] });
    let malformed = 0;
    const { events: stream } = await (adapter.respondStream?.(provider, REQUEST, {
      ...callOptions(),
      onMalformedEvent: () => malformed++,
    }) ?? Promise.reject(new Error()));
    const types: string[] = [];
    for await (const e of stream) types.push(e.type);
    expect(malformed).toBe(2);
    expect(types[types.length - 1]).toBe("response.completed");
  });

  it("refuses a response still in progress as malformed", async () => {
    mock.setFaults({ omitFinishReason: true });
    const err = await failure(adapter.respond?.(provider, REQUEST, callOptions()) ?? Promise.resolve());
    expect(err.kind).toBe("malformed");
  });

  it("turns an error object in a 200 into a 5xx, the key redacted", async () => {
    mock.setFaults({ inBandError: true, echoHeaders: true });
    const err = await failure(adapter.respond?.(provider, REQUEST, callOptions()) ?? Promise.resolve());
    expect(err).toMatchObject({ kind: "http", status: 500 });
    expect(err.message).not.toContain(TEST_API_KEY);
  });

  it("redacts the key from an HTTP error that echoes it", async () => {
    mock.setFaults({ status: 401, echoHeaders: true });
    const err = await failure(adapter.respond?.(provider, REQUEST, callOptions()) ?? Promise.resolve());
    expect(err).toMatchObject({ kind: "http", status: 401 });
    expect(err.message).toContain("[redacted]");
    expect(err.message).not.toContain(TEST_API_KEY);
  });
});

describe("toResponse", () => {
  it("fails a failed response as a server error, a rate limit as 429", () => {
    const failed = (code: string) => ({ object: "response", status: "failed", error: { code, message: "nope" } });
    expect(() => toResponse(failed("server_error"), provider)).toThrow(expect.objectContaining({ status: 500 }));
    expect(() => toResponse(failed("rate_limit_exceeded"), provider)).toThrow(expect.objectContaining({ status: 429 }));
  });

  it("accepts an incomplete response (cut by max_output_tokens): it answered", () => {
    const incomplete = { object: "response", status: "incomplete", output: [] };
    expect(toResponse(incomplete, provider)).toBe(incomplete);
  });
});

describe("toEvent", () => {
  it("fails on response.failed with the response's error, redacted", () => {
    const event = {
      type: "response.failed",
      response: { status: "failed", error: { code: "server_error", message: `key ${TEST_API_KEY} broke` } },
    };
    let err: unknown;
    try {
      toEvent(event, JSON.stringify(event), provider, TEST_API_KEY);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).status).toBe(500);
    expect((err as UpstreamError).message).not.toContain(TEST_API_KEY);
  });

  it("is null for an event without a type (malformed, skipped)", () => {
    expect(toEvent({ delta: "x" }, "{}", provider)).toBeNull();
  });
});
