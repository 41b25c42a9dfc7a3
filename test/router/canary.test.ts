/** Canary rollout in the router (ADR 10): the policy decides `canaryPercent` of request ids, the baseline the rest. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CANARY_PREFIX, draw } from "../../router/evaluation/sampling.js";
import { startOpenAIMock, type OpenAIMockHandle } from "../mocks/openai-mock.js";
import { metricValue, mockProvider, route, routerConfig, startJsonRouter, type JsonRouter } from "./json-router.js";

let cheap: OpenAIMockHandle;
let strong: OpenAIMockHandle;
let t: JsonRouter;

beforeAll(async () => {
  [cheap, strong] = await Promise.all([startOpenAIMock(), startOpenAIMock()]);
  const providers = [mockProvider("cheap", cheap.url, 60, [0.1, 0.2]), mockProvider("strong", strong.url, 90, [5, 15])];
  const routes = [
    route("canary", ["default/cheap", "default/strong"], "default/strong", { rollout: "canary", canaryPercent: 30 }),
  ];
  t = await startJsonRouter(routerConfig(providers, routes), { "default.cheap": "sk-a", "default.strong": "sk-b" });
});

afterAll(async () => {
  await t.stop();
  await Promise.all([cheap.close(), strong.close()]);
});

describe("canary rollout", () => {
  it("lets the policy decide the share of request ids the canary draw says and sends the rest to the baseline", async () => {
    const ids = Array.from({ length: 600 }, (_, i) => `canary-${i}`);
    const policy = new Set(ids.filter((id) => draw(CANARY_PREFIX, id) < 0.3));
    expect(Math.abs(policy.size - 180)).toBeLessThan(4 * Math.sqrt(600 * 0.3 * 0.7));
    const seen: { id: string; provider: string | null; decision: string | null }[] = [];
    for (let i = 0; i < ids.length; i += 20) {
      await Promise.all(
        ids.slice(i, i + 20).map(async (id) => {
          const { response } = await t.client.chat.completions
            .create(
              { model: "canary", messages: [{ role: "user", content: "hi" }] },
              { headers: { "x-request-id": id } },
            )
            .withResponse();
          const provider = response.headers.get("x-routewise-provider");
          seen.push({ id, provider, decision: response.headers.get("x-routewise-decision") });
        }),
      );
    }
    for (const s of seen) {
      if (policy.has(s.id)) {
        expect(s.provider).toBe("default/cheap");
        expect(s.decision).toMatch(/^canary\(arm=policy\); /);
      } else {
        expect(s.provider).toBe("default/strong");
        expect(s.decision).toMatch(/^canary\(arm=baseline; would=default\/cheap\); /);
      }
    }
    const requests = (provider: string, arm: string) =>
      metricValue(t.router, "routewise_requests_total", { route: "canary", provider, outcome: "success", arm });
    expect(await requests("default/cheap", "policy")).toBe(policy.size);
    expect(await requests("default/strong", "baseline")).toBe(600 - policy.size);
  });
});
