import { describe, expect, it } from "vitest";
import { callOptions, providerConfig } from "../../../test/mocks/provider-config.js";
import type { SimulatedBehaviour } from "../../config/types.js";
import type { ChatCompletionChunk, ChatRequest } from "../../openai/types.js";
import { UpstreamError } from "../types.js";
import { createSimulatedAdapter } from "./adapter.js";
import { shouldFail } from "./translate.js";

const BEHAVIOUR: SimulatedBehaviour = { timeToFirstTokenMs: 0, tokensPerSecond: 0, failureRate: 0, outputTokens: 40 };

function simulated(overrides: Partial<SimulatedBehaviour> = {}) {
  return providerConfig({
    id: "default/sim",
    type: "simulated",
    baseURL: "",
    simulated: { ...BEHAVIOUR, ...overrides },
  });
}

function request(content: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return { model: "route", messages: [{ role: "user", content }], ...extra };
}

/** A fake clock: sleep advances time instantly and records each wait. */
function fakeClock() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    deps: {
      nowMs: () => now,
      nowSec: () => 1_700_000_000,
      sleep: (ms: number) => {
        sleeps.push(ms);
        now += ms;
        return Promise.resolve();
      },
    },
  };
}

async function collect(chunks: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> {
  const out: ChatCompletionChunk[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

function text(chunks: ChatCompletionChunk[]): string {
  return chunks
    .flatMap((c) => c.choices as { delta: { content?: string } }[])
    .map((c) => c.delta.content ?? "")
    .join("");
}

describe("simulated adapter", () => {
  it("returns the same text when the prompt is the same and different text when it differs", async () => {
    const adapter = createSimulatedAdapter();
    const a1 = await adapter.complete(simulated(), request("Tell me about routers"), callOptions());
    const a2 = await adapter.complete(
      simulated(),
      request("Tell me about routers"),
      callOptions({ requestId: "other" }),
    );
    const b = await adapter.complete(simulated(), request("Tell me about switches"), callOptions());
    const content = (r: typeof a1) => (r.body.choices[0] as { message: { content: string } }).message.content;
    expect(content(a1)).toBe(content(a2));
    expect(content(a1)).not.toBe(content(b));
    expect(content(a1).length).toBeGreaterThan(40 * 3);
  });

  it("counts prompt tokens at about 4 characters per token when it reports usage", async () => {
    const adapter = createSimulatedAdapter();
    const { body } = await adapter.complete(simulated(), request("x".repeat(400)), callOptions());
    // 100 content tokens + 4 per message + 3 to prime the reply.
    expect(body.usage).toEqual({ prompt_tokens: 107, completion_tokens: 40, total_tokens: 147 });
    expect(body.choices[0]).toMatchObject({ finish_reason: "stop" });
  });

  it("stops at max_tokens with finish_reason length when the request sets a lower max_tokens", async () => {
    const adapter = createSimulatedAdapter();
    const { body } = await adapter.complete(simulated(), request("hi", { max_tokens: 5 }), callOptions());
    expect(body.usage?.completion_tokens).toBe(5);
    expect(body.choices[0]).toMatchObject({ finish_reason: "length" });
  });

  it("streams the same text in many chunks and ends with a usage chunk when streaming", async () => {
    const adapter = createSimulatedAdapter();
    const provider = simulated({ tokensPerSecond: 1_000_000 });
    const complete = await adapter.complete(provider, request("stream me"), callOptions());
    const chunks = await collect((await adapter.stream(provider, request("stream me"), callOptions())).chunks);
    expect(text(chunks)).toBe((complete.body.choices[0] as { message: { content: string } }).message.content);
    expect(chunks.length).toBeGreaterThan(3);
    const last = chunks[chunks.length - 1]!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual(complete.body.usage);
  });

  it("waits the time to first token then paces chunks by tokens per second when the behaviour sets them", async () => {
    const clock = fakeClock();
    const adapter = createSimulatedAdapter(clock.deps);
    const provider = simulated({ timeToFirstTokenMs: 200, tokensPerSecond: 50, outputTokens: 5 });
    const chunks = await collect((await adapter.stream(provider, request("pace"), callOptions())).chunks);
    expect(clock.sleeps).toEqual([200, 20, 20, 20, 20]);
    expect(chunks).toHaveLength(1 + 5 + 2); // role, 5 tokens, finish, usage
  });

  it("puts several tokens in one chunk when tokens per second exceed 100", async () => {
    const clock = fakeClock();
    const adapter = createSimulatedAdapter(clock.deps);
    const provider = simulated({ tokensPerSecond: 1_000, outputTokens: 100 });
    const chunks = await collect((await adapter.stream(provider, request("fast"), callOptions())).chunks);
    expect(chunks).toHaveLength(1 + 10 + 2);
  });

  it("takes time to first token plus generation time when it completes", async () => {
    const clock = fakeClock();
    const adapter = createSimulatedAdapter(clock.deps);
    await adapter.complete(
      simulated({ timeToFirstTokenMs: 100, tokensPerSecond: 40, outputTokens: 20 }),
      request("x"),
      callOptions(),
    );
    expect(clock.sleeps).toEqual([600]);
  });

  it("fails the same requests every run with a 503 when failureRate is set", async () => {
    const adapter = createSimulatedAdapter();
    const provider = simulated({ failureRate: 0.3 });
    const ids = Array.from({ length: 400 }, (_, i) => `req-${i}`);
    const failed = ids.filter((id) => shouldFail(provider, id));
    expect(failed.length).toBeGreaterThan(80);
    expect(failed.length).toBeLessThan(160);
    expect(ids.filter((id) => shouldFail(provider, id))).toEqual(failed);
    const err: unknown = await adapter
      .stream(provider, request("x"), callOptions({ requestId: failed[0]! }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ kind: "http", status: 503 });
  });

  it("never fails when failureRate is 0 and always fails when it is 1", () => {
    expect(shouldFail(simulated({ failureRate: 0 }), "any")).toBe(false);
    expect(shouldFail(simulated({ failureRate: 1 }), "any")).toBe(true);
  });

  it("throws aborted from the iterator when the signal aborts mid-stream", async () => {
    const adapter = createSimulatedAdapter();
    const controller = new AbortController();
    const provider = simulated({ tokensPerSecond: 100, outputTokens: 100 });
    const { chunks } = await adapter.stream(provider, request("x"), callOptions({ signal: controller.signal }));
    const err: unknown = await (async () => {
      const iterator = chunks[Symbol.asyncIterator]();
      while (!(await iterator.next()).done) controller.abort();
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: "aborted" });
  });

  it("rejects with aborted when the signal is already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    const err: unknown = await createSimulatedAdapter()
      .complete(simulated(), request("x"), callOptions({ signal: controller.signal }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: "aborted" });
  });
});
