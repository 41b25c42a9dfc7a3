import { describe, expect, it } from "vitest";
import type { EvaluationRecorder } from "../accounting/evaluation-record.js";
import type { ProviderType } from "../config/types.js";
import type { ProviderAdapter } from "../providers/types.js";
import { UpstreamError } from "../providers/types.js";
import { providerConfig, routeConfig } from "../../test/mocks/provider-config.js";
import { Evaluator } from "./evaluator.js";
import type { EvaluationCase } from "./plan.js";

const cheap = providerConfig({ id: "ns/cheap", model: "cheap-model" });
const strong = providerConfig({ id: "ns/strong", model: "strong-model", credentialKey: "strong-key" });
const judge = providerConfig({ id: "ns/judge", model: "judge-model" });
const route = routeConfig({ evaluation: { judge: judge.id, sampleRate: 1, maxCostPerHourUSD: null } });

function evalCase(requestId: string): EvaluationCase {
  return {
    route,
    requestId,
    request: { model: "chat", messages: [{ role: "user", content: "hi" }] },
    jsonMode: false,
    arm: "policy",
    reason: "classifier",
    answered: cheap,
    answer: { text: "hello", toolCalls: [] },
    decided: cheap,
    baseline: strong,
  };
}

function setup(complete: ProviderAdapter["complete"], o: { capacity?: number; concurrency?: number } = {}) {
  const events: string[] = [];
  const record: EvaluationRecorder = {
    sample: (_r, model, s) => events.push(`sample ${model} ${s.routed}/${s.baseline}`),
    failure: (_r, reason, _id, detail) => events.push(`failure ${reason}${detail === undefined ? "" : ` ${detail}`}`),
    skipped: () => undefined,
    cost: () => undefined,
    paused: () => undefined,
    pausedRoutes: () => undefined,
    feedback: () => undefined,
  };
  const adapter: ProviderAdapter = { complete, stream: () => Promise.reject(new Error("no")), close: async () => {} };
  const adapters = Object.fromEntries(
    (["openai", "azure-openai", "anthropic", "simulated"] as ProviderType[]).map((t) => [t, adapter]),
  ) as Record<ProviderType, ProviderAdapter>;
  const evaluator = new Evaluator({
    adapters,
    credential: (k) => (k === "strong-key" ? "sk-strong-SECRET-value" : null),
    providers: () => new Map([judge, cheap, strong].map((p) => [p.id, p])),
    record,
    now: () => 0,
    ...o,
  });
  return { evaluator, events };
}

const until = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setImmediate(r));
};

describe("Evaluator", () => {
  it("counts a sample that finds the queue full as queue_full", () => {
    const never = new Promise<never>(() => undefined);
    const { evaluator, events } = setup(() => never, { capacity: 1, concurrency: 1 });
    evaluator.consider(evalCase("a"));
    evaluator.consider(evalCase("b"));
    expect(events).toEqual(["failure queue_full"]);
    evaluator.stop();
  });

  it("counts a failed baseline call as baseline_error with the key redacted", async () => {
    const { evaluator, events } = setup(() =>
      Promise.reject(new UpstreamError("http", "bad key sk-strong-SECRET-value", 401)),
    );
    evaluator.consider(evalCase("a"));
    await until(() => events.length > 0);
    expect(events).toEqual(["failure baseline_error ns/strong: bad key [redacted]"]);
  });
});
