import { describe, expect, it } from "vitest";
import { providerConfig, routeConfig } from "../../test/mocks/provider-config.js";
import type { AttemptObserver } from "../accounting/request-record.js";
import type { ProviderConfig, ProviderType, RouteConfig } from "../config/types.js";
import type { ChatCompletion, ChatRequest } from "../openai/types.js";
import { UpstreamError, type ProviderAdapter } from "../providers/types.js";
import { dispatchCompletion, type DispatchDeps } from "./dispatch.js";
import { ProviderHealth } from "./health.js";

const REQUEST: ChatRequest = { model: "chat", messages: [{ role: "user", content: "hi" }] };

const COMPLETION: ChatCompletion = {
  id: "c",
  object: "chat.completion",
  model: "m",
  choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
};

type Answer = (provider: ProviderConfig, request: ChatRequest) => Promise<ChatCompletion>;

/** Adapters whose complete() is `answer`; the fake clock never moves on its own. */
function setup(answer: Answer) {
  const now = { ms: 1_000 };
  const health = new ProviderHealth(() => now.ms);
  const adapter: ProviderAdapter = {
    complete: async (provider, request) => ({ body: await answer(provider, request) }),
    stream: () => Promise.reject(new Error("not used")),
    close: () => Promise.resolve(),
  };
  const adapters = Object.fromEntries(
    (["openai", "azure-openai", "anthropic", "simulated"] as ProviderType[]).map((t) => [t, adapter]),
  ) as Record<ProviderType, ProviderAdapter>;
  const deps: DispatchDeps = {
    adapters,
    credential: () => "sk-test",
    health,
    now: () => now.ms,
    sleep: () => Promise.resolve(),
    random: () => 0.5,
  };
  const events: string[] = [];
  const record: AttemptObserver = {
    attemptStarted: (provider) => ({ provider, startedAt: now.ms, trace: {} }),
    attemptEnded: (a, outcome) => events.push(`${a.provider.id}:${outcome}`),
    firstChunk: () => undefined,
    retried: (p, reason) => events.push(`retry ${p.id}:${reason}`),
    fellBack: (_r, from, to, reason) => events.push(`fallback ${from.id}->${to.id}:${reason}`),
    malformedEvent: (p) => events.push(`malformed ${p.id}`),
  };
  const run = (order: ProviderConfig[], route: RouteConfig = routeConfig()) =>
    dispatchCompletion(deps, {
      route,
      order,
      request: REQUEST,
      requestId: "r",
      signal: new AbortController().signal,
      record,
    });
  return { run, health, events, now };
}

const p1 = providerConfig({ id: "p1" });
const p2 = providerConfig({ id: "p2" });

describe("dispatch", () => {
  it("never counts an error the adapter raised itself against the provider", async () => {
    // Issue 15 #3: JSON.stringify overflowing on a deeply nested request opened every circuit.
    const { run, health } = setup(() => Promise.reject(new RangeError("Maximum call stack size exceeded")));
    for (let i = 0; i < 5; i++) await run([p1, p2]);
    expect(health.isOpen("p1")).toBe(false);
    expect(health.isOpen("p2")).toBe(false);
  });

  it("returns a request the adapter cannot encode to the client without trying anyone else", async () => {
    const { run, health, events } = setup(() =>
      Promise.reject(new UpstreamError("request", "p1: the request could not be encoded")),
    );
    const result = await run([p1, p2]);
    expect(result).toMatchObject({ ok: false, fatal: { kind: "request" } });
    expect(events).toEqual(["p1:request"]);
    expect(health.isOpen("p1")).toBe(false);
  });

  it("answers from the first provider when it succeeds", async () => {
    const { run } = setup(() => Promise.resolve(COMPLETION));
    expect(await run([p1, p2])).toMatchObject({ ok: true, provider: { id: "p1" }, failures: [] });
  });
});
