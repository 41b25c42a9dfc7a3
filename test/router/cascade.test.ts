/**
 * Cascades over real HTTP (issue 14): a cheap mock answers first; the route's verifiers accept its answer or
 * escalate to the route's normal choice (the strong mock). Checks the answer the client gets (JSON and streams),
 * x-routewise-decision, the cost of every stage, the baseline cost, and routewise_cascade_total.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CascadeConfig, RouteConfig } from "../../router/config/types.js";
import { startOpenAIMock, type OpenAIMockHandle } from "../mocks/openai-mock.js";
import { metricValue, mockProvider, route, routerConfig, startJsonRouter, type JsonRouter } from "./json-router.js";

/** What the cheap model writes, by what the prompt asks. */
function cheapReply(prompt: string): string {
  if (prompt.includes("wrong sum")) return "2 + 2 = 5, so the answer is 5.";
  if (prompt.includes("refuse")) return "I'm sorry, but I can't help with that.";
  return "2 + 2 = 4, so the answer is 4.";
}

let cheap: OpenAIMockHandle;
let strong: OpenAIMockHandle;
let grader: OpenAIMockHandle;
let t: JsonRouter;

const CASCADE: CascadeConfig = {
  stages: ["default/cheap"],
  verifiers: ["structure", "math", "refusal"],
  judge: null,
  judgeThreshold: 7,
  logprobsThreshold: -1,
};

function cascaded(name: string, cascade: Partial<CascadeConfig> = {}): RouteConfig {
  return route(name, ["default/cheap", "default/strong"], "default/strong", {
    // Retention 1: the policy alone would send every request to the strong model.
    objective: { minQualityRetention: 1, maxCostPerRequestUSD: null, minConfidence: 0 },
    strategy: "cascade",
    cascade: { ...CASCADE, ...cascade },
  });
}

beforeAll(async () => {
  [cheap, strong, grader] = await Promise.all([
    startOpenAIMock({ reply: cheapReply }),
    startOpenAIMock({ reply: () => "Two plus two is four." }),
    startOpenAIMock({ reply: (p) => (p.includes("answer is 4") ? '{"score": 8}' : '{"score": 3}') }),
  ]);
  const providers = [
    mockProvider("cheap", cheap.url, 60, [0.1, 0.2]),
    mockProvider("strong", strong.url, 90, [5, 15]),
    mockProvider("grader", grader.url, 95, [1, 1]),
  ];
  const routes = [
    cascaded("cascade"),
    cascaded("judged", { verifiers: ["refusal", "judge"], judge: "default/grader" }),
  ];
  const keys = { "default.cheap": "sk-c", "default.strong": "sk-s", "default.grader": "sk-g" };
  t = await startJsonRouter(routerConfig(providers, routes), keys);
});

afterAll(async () => {
  await t.stop();
  await Promise.all([cheap.close(), strong.close(), grader.close()]);
});

const ask = (content: string) => [{ role: "user" as const, content }];
const cascadeCount = (routeName: string, outcome: string, verifier: string, model = "cheap-model") =>
  metricValue(t.router, "routewise_cascade_total", { route: routeName, model, outcome, verifier });

describe("cascade", () => {
  it("returns the cheap stage's answer when every verifier accepts it, and bills only that stage", async () => {
    const before = await cascadeCount("cascade", "accepted", "all");
    const { data, response } = await t.client.chat.completions
      .create({ model: "cascade", messages: ask("what is 2+2?") })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe("2 + 2 = 4, so the answer is 4.");
    expect(response.headers.get("x-routewise-provider")).toBe("default/cheap");
    expect(response.headers.get("x-routewise-decision")).toMatch(/^cascade\(stage=default\/cheap, accepted\); /);
    expect(await cascadeCount("cascade", "accepted", "all")).toBe(before + 1);
    const usage = data.usage!;
    const at = (input: number, output: number) =>
      (usage.prompt_tokens * input + usage.completion_tokens * output) / 1e6;
    expect(Number(response.headers.get("x-routewise-cost-usd"))).toBeCloseTo(at(0.1, 0.2), 10);
    expect(Number(response.headers.get("x-routewise-baseline-cost-usd"))).toBeCloseTo(at(5, 15), 10);
  });

  it("escalates a wrong sum to the route's choice, naming the verifier, and bills both answers", async () => {
    const strongBefore = strong.requests.length;
    const { data, response } = await t.client.chat.completions
      .create({ model: "cascade", messages: ask("a wrong sum please") })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe("Two plus two is four.");
    expect(response.headers.get("x-routewise-provider")).toBe("default/strong");
    expect(response.headers.get("x-routewise-decision")).toMatch(
      /^cascade\(stage=default\/cheap, escalated by math\); /,
    );
    expect(strong.requests.length).toBe(strongBefore + 1);
    expect(await cascadeCount("cascade", "escalated", "math")).toBeGreaterThanOrEqual(1);
    // Cost: the cheap stage and the strong answer; baseline: the strong answer alone.
    const cost = Number(response.headers.get("x-routewise-cost-usd"));
    const baseline = Number(response.headers.get("x-routewise-baseline-cost-usd"));
    expect(cost).toBeGreaterThan(baseline);
    expect(cost - baseline).toBeLessThan(baseline / 10);
  });

  it("replays an accepted answer to a streaming client and says the stages were buffered", async () => {
    const { data: stream, response } = await t.client.chat.completions
      .create({
        model: "cascade",
        messages: ask("what is 2+2?"),
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    let text = "";
    let summary: Record<string, unknown> | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      const extra = (chunk as unknown as { x_routewise?: Record<string, unknown> }).x_routewise;
      if (extra) summary = extra;
    }
    expect(text).toBe("2 + 2 = 4, so the answer is 4.");
    expect(response.headers.get("x-routewise-decision")).toMatch(
      /^cascade\(buffered; stage=default\/cheap, accepted\)/,
    );
    expect(summary?.["provider"]).toBe("default/cheap");
    expect(typeof summary?.["feedback_token"]).toBe("string");
    // The stage was asked without streaming.
    const last = cheap.requests[cheap.requests.length - 1]?.body as Record<string, unknown>;
    expect(last["stream"]).toBeUndefined();
  });

  it("streams the route's choice live after a refusal", async () => {
    const { data: stream, response } = await t.client.chat.completions
      .create({ model: "cascade", messages: ask("please refuse"), stream: true })
      .withResponse();
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("Two plus two is four.");
    expect(response.headers.get("x-routewise-decision")).toMatch(
      /^cascade\(buffered; stage=default\/cheap, escalated by refusal\)/,
    );
  });

  it("asks the judge verifier to grade the answer alone and accepts at the threshold", async () => {
    const accepted = await t.client.chat.completions
      .create({ model: "judged", messages: ask("what is 2+2?") })
      .withResponse();
    expect(accepted.response.headers.get("x-routewise-provider")).toBe("default/cheap");
    const rejected = await t.client.chat.completions
      .create({ model: "judged", messages: ask("a wrong sum please") })
      .withResponse();
    expect(rejected.response.headers.get("x-routewise-provider")).toBe("default/strong");
    expect(rejected.response.headers.get("x-routewise-decision")).toContain("escalated by judge");
    expect(grader.requests.length).toBe(2);
  });

  it("escalates past a stage that fails", async () => {
    cheap.setFaults({ status: 500 });
    try {
      const { response } = await t.client.chat.completions
        .create({ model: "cascade", messages: ask("what is 2+2?") })
        .withResponse();
      expect(response.headers.get("x-routewise-provider")).toBe("default/strong");
      expect(response.headers.get("x-routewise-decision")).toMatch(/^cascade\(stage=default\/cheap, failed\); /);
      expect(await cascadeCount("cascade", "error", "error")).toBeGreaterThanOrEqual(1);
    } finally {
      cheap.setFaults(null);
    }
  });
});
