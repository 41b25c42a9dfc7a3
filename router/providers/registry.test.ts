import { describe, expect, it } from "vitest";
import { PROVIDER_TYPES } from "../config/types.js";
import { createAdapters } from "./registry.js";
import { createHttpClient } from "./shared/http.js";

describe("createAdapters", () => {
  it("returns an adapter for every provider type when called with defaults", async () => {
    const adapters = createAdapters();
    expect(Object.keys(adapters).sort()).toEqual([...PROVIDER_TYPES].sort());
    await Promise.all(Object.values(adapters).map((a) => a.close()));
  });

  it("closes the shared HTTP client only when every adapter is closed", async () => {
    const http = createHttpClient();
    const agent = http.dispatcherFor({ timeouts: { connectMs: 1_000, requestMs: 1_000 } });
    const adapters = createAdapters({ http });
    await adapters.openai.close();
    await adapters.openai.close();
    expect(agent).toHaveProperty("closed", false);
    await Promise.all(Object.values(adapters).map((a) => a.close()));
    expect(agent).toHaveProperty("closed", true);
  });
});
