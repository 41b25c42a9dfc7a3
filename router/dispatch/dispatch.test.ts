import { describe, expect, it } from "vitest";
import { providerConfig, routeConfig } from "../../test/mocks/provider-config.js";
import type { AttemptObserver } from "../accounting/request-record.js";
import type { ProviderConfig, ProviderType, RouteConfig } from "../config/types.js";
import type { ChatCompletion, ChatRequest } from "../openai/types.js";
import { UpstreamError, type ProviderAdapter } from "../providers/types.js";
import { MemoryStateStore } from "../state/memory-store.js";
import { StateUnavailableError, type Admission, type SlotRequest, type StateStore } from "../state/types.js";
import { RequestLifetime } from "./abort.js";
import { clientError } from "./client-error.js";
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
function setup(answer: Answer, state: StateStore | null = null) {
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
    state,
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
      lifetime: new RequestLifetime(60_000),
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

/** A shared store whose slots are decided by `decide` (per provider id); it records what it was asked. */
function sharedStore(
  decide: (r: SlotRequest) => Admission | Error,
): StateStore & { asked: string[]; released: string[] } {
  const asked: string[] = [];
  const released: string[] = [];
  const memory = new MemoryStateStore();
  return {
    asked,
    released,
    sharedLimits: true,
    acquire: (r) => {
      asked.push(r.providerId);
      const d = decide(r);
      if (d instanceof Error) return Promise.reject(d);
      return Promise.resolve(d.granted ? { ...d, release: () => released.push(r.providerId) } : d);
    },
    recordTokens: () => undefined,
    readSpend: (k) => memory.readSpend(k),
    charge: (k, usd) => memory.charge(k, usd),
    close: () => Promise.resolve(),
  };
}

const limited = (id: string) =>
  providerConfig({ id, limits: { maxConcurrency: 0, requestsPerMinute: 60, tokensPerMinute: 0 } });

describe("dispatch with shared limits (issue 17)", () => {
  it("moves on to the next candidate when the store refuses a slot, and selection then skips the provider", async () => {
    const [a, b] = [limited("a"), limited("b")];
    const store = sharedStore((r) =>
      r.providerId === "a"
        ? { granted: false, retryAfterMs: 42_000 }
        : { granted: true, release: () => undefined, fullForMs: 0 },
    );
    const { run, health, events } = setup(() => Promise.resolve(COMPLETION), store);
    health.setProviders([a, b]);
    const result = await run([a, b]);
    expect(result).toMatchObject({ ok: true, provider: { id: "b" }, failures: [{ provider: "a", kind: "saturated" }] });
    expect(events).toEqual(["fallback a->b:saturated", "b:success"]);
    expect(store.released).toEqual(["b"]);
    expect(health.isSaturated("a")).toBe(true);
    expect(health.freesInMs("a")).toBe(42_000);
  });

  it("answers 429 rate_limited with the time until the first window frees when every candidate is full", async () => {
    const store = sharedStore((r) => ({ granted: false, retryAfterMs: r.providerId === "a" ? 30_500 : 50_000 }));
    const { run } = setup(() => Promise.resolve(COMPLETION), store);
    const route = routeConfig();
    const order = [limited("a"), limited("b")];
    const result = await run(order, route);
    if (result.ok) throw new Error("expected a failure");
    const { error, outcome } = clientError(route, order, result);
    expect([error.status, error.code, error.headers["retry-after"], outcome]).toEqual([
      429,
      "rate_limited",
      "31",
      "rate_limited",
    ]);
  });

  it("marks the provider full when a grant filled its window, without refusing that request", async () => {
    const store = sharedStore(() => ({ granted: true, release: () => undefined, fullForMs: 5_000 }));
    const { run, health } = setup(() => Promise.resolve(COMPLETION), store);
    health.setProviders([limited("a")]);
    expect(await run([limited("a")])).toMatchObject({ ok: true });
    expect(health.isSaturated("a")).toBe(true);
  });

  it("asks the store nothing for a provider without limits", async () => {
    const store = sharedStore(() => new Error("must not be called"));
    const { run } = setup(() => Promise.resolve(COMPLETION), store);
    expect(await run([p1])).toMatchObject({ ok: true });
    expect(store.asked).toEqual([]);
  });

  it("answers 503 state_unavailable without trying further candidates when the store is unreachable (closed)", async () => {
    const store = sharedStore(() => new StateUnavailableError("the shared state store (Redis) is unreachable"));
    const { run, events } = setup(() => Promise.resolve(COMPLETION), store);
    const route = routeConfig();
    const order = [limited("a"), limited("b")];
    const result = await run(order, route);
    if (result.ok) throw new Error("expected a failure");
    expect(store.asked).toEqual(["a"]);
    expect(events).toEqual([]);
    const { error, outcome } = clientError(route, order, result);
    expect([error.status, error.code, error.headers["retry-after"], outcome]).toEqual([
      503,
      "state_unavailable",
      "1",
      "state_unavailable",
    ]);
  });
});
