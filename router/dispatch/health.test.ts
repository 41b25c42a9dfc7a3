import { describe, expect, it } from "vitest";
import { ProviderHealth } from "./health.js";
import type { ProviderConfig } from "../config/types.js";

function setup(limits: Partial<ProviderConfig["limits"]> = {}) {
  let now = 1_000;
  const changes: [string, boolean][] = [];
  const h = new ProviderHealth(
    () => now,
    (id, open) => changes.push([id, open]),
  );
  h.setProviders([
    { id: "p", limits: { maxConcurrency: 0, requestsPerMinute: 0, tokensPerMinute: 0, ...limits } } as ProviderConfig,
  ]);
  return { h, changes, advance: (ms: number) => (now += ms) };
}

const breaker = { consecutiveFailures: 2, cooldownMs: 100 };

describe("ProviderHealth", () => {
  it("opens the circuit after consecutive failures and reports it once", () => {
    const { h, changes } = setup();
    h.recordFailure("p", breaker);
    expect(h.isOpen("p")).toBe(false);
    h.recordFailure("p", breaker);
    expect(h.isOpen("p")).toBe(true);
    expect(changes).toEqual([["p", true]]);
  });

  it("forgets failures older than the window when it counts consecutive failures", () => {
    // Issue 15: one stray failure an hour ago must not shorten the next outage's patience.
    const { h, advance } = setup();
    const windowed = { ...breaker, windowMs: 1_000 };
    h.recordFailure("p", windowed);
    advance(1_500);
    h.recordFailure("p", windowed);
    expect(h.isOpen("p")).toBe(false);
    advance(500);
    h.recordFailure("p", windowed);
    expect(h.isOpen("p")).toBe(true);
  });

  it("lets one probe through after the cooldown and closes on its success", () => {
    const { h, changes, advance } = setup();
    h.recordFailure("p", breaker);
    h.recordFailure("p", breaker);
    advance(150);
    expect(h.isOpen("p")).toBe(false);
    const release = h.begin("p");
    expect(h.isOpen("p")).toBe(true); // the probe is in flight: others wait
    h.recordSuccess("p");
    release();
    expect(h.isOpen("p")).toBe(false);
    expect(changes).toEqual([
      ["p", true],
      ["p", false],
    ]);
  });

  it("reopens at once when the half-open probe fails", () => {
    const { h, advance } = setup();
    h.recordFailure("p", breaker);
    h.recordFailure("p", breaker);
    advance(150);
    h.begin("p")();
    h.recordFailure("p", breaker);
    expect(h.isOpen("p")).toBe(true);
  });

  it("lets the next request probe when the half-open probe ends without a success or failure", () => {
    // Issue 15 #2: a probe answered with a 4xx, abandoned by its client or cut by the request's deadline
    // recorded nothing and left the circuit open until restart.
    const { h, advance } = setup();
    h.recordFailure("p", breaker);
    h.recordFailure("p", breaker);
    advance(150);
    const release = h.begin("p");
    expect(h.isOpen("p")).toBe(true);
    release();
    expect(h.isOpen("p")).toBe(false);
    h.begin("p");
    expect(h.isOpen("p")).toBe(true); // the next request is the new probe
  });

  it("keeps a later probe's flag when an earlier attempt on the provider ends", () => {
    const { h, advance } = setup();
    const before = h.begin("p"); // in flight since before the circuit opened
    h.recordFailure("p", breaker);
    h.recordFailure("p", breaker);
    advance(150);
    h.begin("p"); // the probe
    before();
    expect(h.isOpen("p")).toBe(true);
  });

  it("closes a provider's circuit when a reload changes where or what it calls", () => {
    const { h, changes } = setup();
    h.recordFailure("p", breaker);
    h.recordFailure("p", breaker);
    expect(h.isOpen("p")).toBe(true);
    h.setProviders([
      {
        id: "p",
        baseURL: "http://elsewhere/v1",
        limits: { maxConcurrency: 0, requestsPerMinute: 0, tokensPerMinute: 0 },
      } as ProviderConfig,
    ]);
    expect(h.isOpen("p")).toBe(false);
    expect(changes).toEqual([
      ["p", true],
      ["p", false],
    ]);
  });

  it("is saturated at its concurrency limit until a request ends", () => {
    const { h } = setup({ maxConcurrency: 1 });
    const release = h.begin("p");
    expect(h.isSaturated("p")).toBe(true);
    release();
    release(); // idempotent
    expect(h.isSaturated("p")).toBe(false);
    expect(h.inflight("p")).toBe(0);
  });

  it("is saturated at its requests-per-minute limit until the minute passes", () => {
    const { h, advance } = setup({ requestsPerMinute: 2 });
    h.begin("p")();
    h.begin("p")();
    expect(h.isSaturated("p")).toBe(true);
    advance(60_001);
    expect(h.isSaturated("p")).toBe(false);
  });

  it("is saturated at its tokens-per-minute limit", () => {
    const { h } = setup({ tokensPerMinute: 100 });
    h.begin("p")();
    h.recordTokens("p", 120);
    expect(h.isSaturated("p")).toBe(true);
  });

  it("says when a per-minute window frees: the oldest request that must expire, not 1 s (issue 16)", () => {
    const { h, advance } = setup({ requestsPerMinute: 2 });
    h.begin("p")();
    advance(10_000);
    h.begin("p")();
    expect(h.isSaturated("p")).toBe(true);
    advance(5_000);
    expect(h.freesInMs("p")).toBe(45_001); // the first request leaves the window just over 60 s after it started
    advance(45_001);
    expect(h.isSaturated("p")).toBe(false);
  });

  it("frees a token window when enough of its oldest tokens have expired", () => {
    const { h, advance } = setup({ tokensPerMinute: 100 });
    h.recordTokens("p", 60);
    advance(20_000);
    h.recordTokens("p", 60);
    expect(h.freesInMs("p")).toBe(40_001);
    const busy = setup({ maxConcurrency: 1 }).h;
    busy.begin("p");
    expect(busy.freesInMs("p")).toBe(1_000);
  });
});
