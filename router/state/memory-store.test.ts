import { describe, expect, it } from "vitest";
import { MemoryStateStore } from "./memory-store.js";
import type { SpendKey } from "./types.js";

const KEY: SpendKey = { scope: "key", name: "team-a/alice", period: "day" };
const TEAM: SpendKey = { scope: "team", name: "a", period: "month" };

describe("MemoryStateStore", () => {
  it("adds charges to every counter and reads them back in order", async () => {
    const store = new MemoryStateStore(() => Date.parse("2026-12-01T10:00:00Z"));
    store.charge([KEY, TEAM], 0.004);
    store.charge([KEY], 0.0000001);
    expect(await store.readSpend([TEAM, KEY])).toEqual([0.004, 0.0040001]);
  });

  it("starts a counter afresh when its period ends", async () => {
    let now = Date.parse("2026-12-01T23:59:00Z");
    const store = new MemoryStateStore(() => now);
    store.charge([KEY, TEAM], 1);
    now = Date.parse("2026-12-02T00:00:01Z");
    expect(await store.readSpend([KEY, TEAM])).toEqual([0, 1]);
  });

  it("keeps the counters of two scopes with the same name apart", async () => {
    const store = new MemoryStateStore();
    store.charge([{ scope: "route", name: "a", period: "month" }], 2);
    expect(await store.readSpend([TEAM])).toEqual([0]);
  });

  it("grants every slot: per-replica limits are the health view's", async () => {
    const store = new MemoryStateStore();
    const limits = { maxConcurrency: 1, requestsPerMinute: 1, tokensPerMinute: 1 };
    const a = await store.acquire({ providerId: "p", limits, leaseMs: 1000 });
    const b = await store.acquire({ providerId: "p", limits, leaseMs: 1000 });
    expect([a.granted, b.granted, store.sharedLimits]).toEqual([true, true, false]);
  });
});
