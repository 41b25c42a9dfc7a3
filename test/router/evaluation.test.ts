/**
 * Judge sampling end to end (ADR 10): a real router on RouterConfig JSON, OpenAI-compatible mocks as the routed
 * model, the baseline and the judge, the official SDK as the client. Nothing here sleeps: every assertion waits for
 * the condition it needs.
 */
import { request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RouteConfig } from "../../router/config/types.js";
import { sampled } from "../../router/evaluation/sampling.js";
import { ANSWER_A_START } from "../../router/evaluation/rubric.js";
import { waitFor } from "../harness/wait.js";
import { isJudgeRequest, startOpenAIMock, type MockJudge, type OpenAIMockHandle } from "../mocks/openai-mock.js";
import { captureLogs } from "./harness.js";
import { metricValue, mockProvider, route, routerConfig, startJsonRouter, type JsonRouter } from "./json-router.js";

const KEYS = {
  "default.cheap": "sk-cheap-EVAL-SECRET-111",
  "default.strong": "sk-strong-EVAL-SECRET-222",
  "default.judge": "sk-judge-EVAL-SECRET-333",
  "default.held": "sk-held-EVAL-SECRET-444",
};
const JUDGE: MockJudge = { scores: { "cheap-model": 6, "strong-model": 8 }, positionBias: 1 };

let cheap: OpenAIMockHandle;
let strong: OpenAIMockHandle;
let judge: OpenAIMockHandle;
/** The baseline of route "held-baseline": it never answers, so only a client that does not wait gets its answer. */
let held: OpenAIMockHandle;
let t: JsonRouter;
const logs = captureLogs();

function evaluated(name: string, sampleRate: number, extra: Partial<RouteConfig> = {}): RouteConfig {
  return route(name, ["default/cheap", "default/strong"], "default/strong", {
    evaluation: { judge: "default/judge", sampleRate, maxCostPerHourUSD: null },
    ...extra,
  });
}

beforeAll(async () => {
  [cheap, strong, judge, held] = await Promise.all([
    startOpenAIMock({ tagModel: true }),
    startOpenAIMock({ tagModel: true }),
    startOpenAIMock({ judge: JUDGE }),
    startOpenAIMock({ tagModel: true }),
  ]);
  held.setFaults({ hang: true });
  const providers = [
    mockProvider("cheap", cheap.url, 60, [0.1, 0.2]),
    mockProvider("strong", strong.url, 90, [5, 15]),
    mockProvider("judge", judge.url, 95, [2, 8]),
    mockProvider("held", held.url, 90, [5, 15]),
  ];
  const routes = [
    evaluated("always", 1),
    evaluated("sampled", 0.05),
    evaluated("capped", 1, { evaluation: { judge: "default/judge", sampleRate: 1, maxCostPerHourUSD: 1e-9 } }),
    evaluated("pilot", 1, { rollout: "shadow" }),
    route("held-baseline", ["default/cheap", "default/held"], "default/held", {
      evaluation: { judge: "default/judge", sampleRate: 1, maxCostPerHourUSD: null },
    }),
    route("baseline-only", ["default/strong"], "default/strong", {
      evaluation: { judge: "default/judge", sampleRate: 1, maxCostPerHourUSD: null },
    }),
  ];
  t = await startJsonRouter(routerConfig(providers, routes), KEYS, {
    logger: logs.logger,
    evaluationQueue: { capacity: 4096 },
  });
});

afterAll(async () => {
  await t.stop();
  // held was closed by the ordering test; closing it again rejects.
  await Promise.all([cheap.close(), strong.close(), judge.close(), held.close().catch(() => undefined)]);
});

afterEach(() => {
  judge.setJudge(JUDGE);
  for (const m of [cheap, strong, judge]) m.setFaults(null);
});

const ask = (content: string) => [{ role: "user" as const, content }];
const samples = (route: string, model = "cheap-model") =>
  metricValue(t.router, "routewise_evaluation_samples_total", { route, model });
const failures = (route: string, reason: string) =>
  metricValue(t.router, "routewise_evaluation_failures_total", { route, reason });
const score = (route: string, side: string, model = "cheap-model") =>
  metricValue(t.router, "routewise_evaluation_score_total", { route, model, side });
/** Requests a mock received whose last user message contains `marker` (judge calls excluded). */
const answered = (m: OpenAIMockHandle, marker: string) =>
  m.requests.filter((r) => !isJudgeRequest(r.body) && JSON.stringify(r.body).includes(marker));

describe("evaluation: judge samples", () => {
  it("grades both answers twice with swapped positions and records the averaged scores", async () => {
    const { response } = await t.client.chat.completions
      .create({ model: "always", messages: ask("swap check: what is 2+2?") })
      .withResponse();
    expect(response.headers.get("x-routewise-provider")).toBe("default/cheap");
    await waitFor(async () => (await samples("always")) >= 1, 10_000, { description: "one sample" });
    // Judge: cheap 6, strong 8, +1 in position A. Routed A: 7/8; swapped: 9/6 → routed 6.5, baseline 8.5.
    expect(await score("always", "routed")).toBe(6.5);
    expect(await score("always", "baseline")).toBe(8.5);
    const calls = judge.judgeCalls().filter((c) => JSON.stringify(c.body).includes("swap check"));
    expect(calls).toHaveLength(2);
    const answerA = (c: (typeof calls)[number]) => {
      const user = JSON.stringify((c.body as { messages: { content: string }[] }).messages[1]?.content);
      return user.slice(user.indexOf(ANSWER_A_START) + ANSWER_A_START.length, user.indexOf(ANSWER_A_START) + 60);
    };
    expect(answerA(calls[0]!)).toContain("[cheap-model]");
    expect(answerA(calls[1]!)).toContain("[strong-model]");
    // The baseline was asked the same request, non-streaming.
    const baseline = answered(strong, "swap check");
    expect(baseline).toHaveLength(1);
    expect(baseline[0]?.body).toMatchObject({ model: "strong-model" });
    expect(baseline[0]?.body).not.toHaveProperty("stream", true);
    expect(await metricValue(t.router, "routewise_evaluation_cost_usd_total", { route: "always" })).toBeGreaterThan(0);
  });

  it("pairs feedback on a judged answer with the judge's verdict, once, for the judge's flip rate", async () => {
    // metricValue reads an absent series as 0.
    const before = (name: string) => metricValue(t.router, name, { route: "always" });
    const [pairs0, disagreements0] = [
      await before("routewise_evaluation_judge_feedback_pairs_total"),
      await before("routewise_evaluation_judge_feedback_disagreements_total"),
    ];
    const samples0 = await samples("always");
    const { response } = await t.client.chat.completions
      .create({ model: "always", messages: ask("feedback pairing check") })
      .withResponse();
    const token = response.headers.get("x-routewise-feedback-token");
    await waitFor(async () => (await samples("always")) > samples0, 10_000, { description: "the sample" });
    // The judge ranks the cheap answer (6.5) below the baseline (8.5); the user is happy with it: they disagree.
    for (let i = 0; i < 2; i++) {
      const r = await request(`${t.url}/v1/feedback`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token, score: 1 }),
      });
      expect(r.statusCode).toBe(200);
      await r.body.text();
    }
    expect(await before("routewise_evaluation_judge_feedback_pairs_total")).toBe(pairs0 + 1);
    expect(await before("routewise_evaluation_judge_feedback_disagreements_total")).toBe(disagreements0 + 1);
  });

  it("answers the client while its evaluation's baseline call is still unanswered", async () => {
    // The baseline never answers: were evaluation on the request path, this request would never complete.
    const marker = "ordering check";
    const { response } = await t.client.chat.completions
      .create({ model: "held-baseline", messages: ask(marker) })
      .withResponse();
    expect(response.headers.get("x-routewise-provider")).toBe("default/cheap");
    await waitFor(() => answered(held, marker).length === 1, 10_000, { description: "the evaluation's baseline call" });
    expect(judge.judgeCalls().filter((c) => JSON.stringify(c.body).includes(marker))).toHaveLength(0);
    // Closing the mock ends the held call: the evaluation fails as baseline_error, with no score.
    await held.close();
    await waitFor(async () => (await failures("held-baseline", "baseline_error")) === 1, 10_000, {
      description: "the baseline_error failure",
    });
    expect(await samples("held-baseline")).toBe(0);
  });

  it("evaluates a stream's relayed text as the routed answer", async () => {
    const marker = "stream check";
    const stream = await t.client.chat.completions.create({ model: "always", messages: ask(marker), stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    const calls = await waitFor(() => {
      const c = judge.judgeCalls().filter((r) => JSON.stringify(r.body).includes(marker));
      return c.length === 2 ? c : null;
    });
    const user = (calls[0]!.body as { messages: { content: string }[] }).messages[1]!.content;
    expect(user).toContain(`${ANSWER_A_START}\n${text}\n`);
    expect(answered(strong, marker)[0]?.body).not.toHaveProperty("stream", true);
  });

  it("counts unparsable verdicts as failures, never as scores", async () => {
    judge.setJudge({ ...JUDGE, unparsable: true });
    const before = { samples: await samples("always"), failed: await failures("always", "unparsable_verdict") };
    await t.client.chat.completions.create({ model: "always", messages: ask("unparsable check") });
    await waitFor(async () => (await failures("always", "unparsable_verdict")) === before.failed + 1);
    expect(await samples("always")).toBe(before.samples);
  });

  it("compares identical tool calls structurally, without a judge call", async () => {
    const marker = "use the tool for structural check";
    const tools = [{ type: "function" as const, function: { name: "lookup", parameters: { type: "object" } } }];
    const before = await samples("always");
    await t.client.chat.completions.create({ model: "always", messages: ask(marker), tools });
    await waitFor(async () => (await samples("always")) === before + 1);
    expect(judge.judgeCalls().filter((c) => JSON.stringify(c.body).includes(marker))).toHaveLength(0);
    expect(answered(strong, marker)).toHaveLength(1);
  });

  it("records a request the baseline answered because the policy chose it as retention 1, without calls", async () => {
    const marker = "baseline chose itself";
    await t.client.chat.completions.create({ model: "baseline-only", messages: ask(marker) });
    await waitFor(async () => (await samples("baseline-only", "strong-model")) === 1);
    expect(await score("baseline-only", "routed", "strong-model")).toBe(10);
    expect(await score("baseline-only", "baseline", "strong-model")).toBe(10);
    expect(answered(strong, marker)).toHaveLength(1); // the client's own request only
    expect(judge.judgeCalls().filter((c) => JSON.stringify(c.body).includes(marker))).toHaveLength(0);
  });

  it("asks the decided model for the routed side of a shadow route and projects its cost", async () => {
    const marker = "shadow pilot check";
    const { response } = await t.client.chat.completions
      .create({ model: "pilot", messages: ask(marker) })
      .withResponse();
    expect(response.headers.get("x-routewise-provider")).toBe("default/strong");
    await waitFor(async () => (await samples("pilot")) === 1);
    expect(answered(cheap, marker)[0]?.body).toMatchObject({ model: "cheap-model" });
    expect(answered(cheap, marker)[0]?.body).not.toHaveProperty("stream", true);
    // Routed (cheap) 6, baseline (strong) 8 after averaging out the position bias.
    expect(await score("pilot", "routed")).toBe(6.5);
    expect(await metricValue(t.router, "routewise_projected_cost_usd_total", { route: "pilot" })).toBeGreaterThan(0);
    expect(
      await metricValue(t.router, "routewise_requests_total", {
        route: "pilot",
        provider: "default/strong",
        arm: "baseline",
      }),
    ).toBe(1);
  });

  it("pauses sampling when the hourly spend cap is reached", async () => {
    await t.client.chat.completions.create({ model: "capped", messages: ask("capped 0") });
    await waitFor(async () => (await metricValue(t.router, "routewise_evaluation_paused", { route: "capped" })) === 1);
    const calls = answered(strong, "capped").length;
    expect(calls).toBe(1);
    for (let i = 1; i <= 5; i++)
      await t.client.chat.completions.create({ model: "capped", messages: ask(`capped ${i}`) });
    // A barrier: a later sample on another route has been recorded, so anything queued before it has started.
    const before = await samples("always");
    await t.client.chat.completions.create({ model: "always", messages: ask("barrier after the cap") });
    await waitFor(async () => (await samples("always")) === before + 1);
    expect(answered(strong, "capped")).toHaveLength(calls);
    expect(await metricValue(t.router, "routewise_evaluation_paused", { route: "capped" })).toBe(1);
  });

  it("samples the share of 2,000 request ids the hash draw says, within binomial tolerance", async () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `rate-${i}`);
    const expected = ids.filter((id) => sampled(id, 0.05)).length;
    const sigma = Math.sqrt(2000 * 0.05 * 0.95);
    expect(Math.abs(expected - 100)).toBeLessThan(4 * sigma);
    const before = await samples("sampled");
    for (let i = 0; i < ids.length; i += 20) {
      await Promise.all(
        ids
          .slice(i, i + 20)
          .map((id) =>
            t.client.chat.completions.create(
              { model: "sampled", messages: ask("rate check") },
              { headers: { "x-request-id": id } },
            ),
          ),
      );
    }
    await waitFor(async () => (await samples("sampled")) - before >= expected, 60_000, { description: "samples" });
    expect((await samples("sampled")) - before).toBe(expected);
    expect(answered(strong, "rate check")).toHaveLength(expected);
  }, 120_000);

  it("never puts upstream keys in evaluation logs or metrics, even when upstreams echo them", async () => {
    judge.setFaults({ status: 500, echoHeaders: true });
    const before = await failures("always", "judge_error");
    await t.client.chat.completions.create({ model: "always", messages: ask("secret echo check") });
    await waitFor(async () => (await failures("always", "judge_error")) === before + 1);
    const metrics = await request(`${t.router.metricsUrl}/metrics`).then((r) => r.body.text());
    const everything = logs.lines.join("\n") + metrics;
    expect(logs.lines.some((l) => l.includes("Failed to evaluate sample") && l.includes("judge_error"))).toBe(true);
    for (const key of Object.values(KEYS)) expect(everything).not.toContain(key);
  });
});
