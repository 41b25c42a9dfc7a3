import { describe, expect, it } from "vitest";
import { shareLimits } from "./limits-share.js";
import type { RouterConfig } from "./types.js";

// router/config is the contract's leaf (leaf.test.ts): a provider with only what shareLimits reads, no test mocks.
function configWith(limits: { maxConcurrency: number; requestsPerMinute: number; tokensPerMinute: number }) {
  const provider = { id: "default/p", limits };
  return { version: "v1", hash: "h", providers: [provider], routes: [] } as unknown as RouterConfig;
}

describe("shareLimits", () => {
  it("gives each of N workers 1/N of every provider limit, rounded up", () => {
    const shared = shareLimits(configWith({ maxConcurrency: 5, requestsPerMinute: 60, tokensPerMinute: 1000 }), 2);
    expect(shared.providers[0]?.limits).toEqual({ maxConcurrency: 3, requestsPerMinute: 30, tokensPerMinute: 500 });
  });

  it("keeps 0 (unlimited) unlimited and never gives a worker less than 1", () => {
    const shared = shareLimits(configWith({ maxConcurrency: 1, requestsPerMinute: 0, tokensPerMinute: 0 }), 4);
    expect(shared.providers[0]?.limits).toEqual({ maxConcurrency: 1, requestsPerMinute: 0, tokensPerMinute: 0 });
  });

  it("returns the config unchanged for one worker", () => {
    const config = configWith({ maxConcurrency: 5, requestsPerMinute: 60, tokensPerMinute: 1000 });
    expect(shareLimits(config, 1)).toBe(config);
  });
});
