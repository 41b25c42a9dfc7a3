/**
 * Standalone learning (ADR 12, "Where it runs"): `routewise router --config <CR YAML dir>` — what `npm start` runs,
 * with no operator — judges its own traffic, recomputes the learning route's table on --learning-interval with
 * the same pure functions the operator uses, and serves it: the decisions that follow say `learned(lower=…, n=…)`.
 * Requests keep being answered while tables are swapped in. The router is the built bin/routewise.js (run
 * `npm run build` first), the upstreams and the judge are OpenAI-compatible mocks.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManagedProcess } from "../harness/process.js";
import { waitFor } from "../harness/wait.js";
import { startOpenAIMock, type OpenAIMockHandle } from "../mocks/openai-mock.js";
import { providerYaml, routeYaml, secretYaml } from "./harness.js";

const BIN = fileURLToPath(new URL("../../bin/routewise.js", import.meta.url));

let cheap: OpenAIMockHandle;
let strong: OpenAIMockHandle;
let judge: OpenAIMockHandle;
let router: ManagedProcess;
let log: string;
let client: OpenAI;

function policies(): string {
  return [
    providerYaml("cheap", { url: cheap.url, score: 60, price: [0.1, 0.2] }),
    providerYaml("strong", { url: strong.url, score: 90, price: [5, 15] }),
    providerYaml("judge", { url: judge.url, score: 95, price: [2, 8] }),
    secretYaml({ cheap: "sk-learn-cheap-SECRET", strong: "sk-learn-strong-SECRET", judge: "sk-learn-judge-SECRET" }),
    routeYaml(
      "chat",
      `  candidates: [{ name: cheap }, { name: strong }]
  baseline: { name: strong }
  objective: { minQualityRetention: 0.5 }
  evaluation: { judge: { name: judge }, sampleRate: 1 }
  learning: { tags: [support], window: 500 }`,
    ),
  ].join("");
}

beforeAll(async () => {
  [cheap, strong, judge] = await Promise.all([
    startOpenAIMock({ tagModel: true }),
    startOpenAIMock({ tagModel: true }),
    // No position bias: both gradings order the answers alike, so the judge's flip rate is 0.
    startOpenAIMock({ judge: { scores: { "cheap-model": 8, "strong-model": 9 }, positionBias: 0 } }),
  ]);
  const dir = mkdtempSync(join(tmpdir(), "routewise-learning-"));
  writeFileSync(join(dir, "policy.yaml"), policies());
  log = join(mkdtempSync(join(tmpdir(), "routewise-learning-log-")), "router.log");
  const args = [BIN, "router", "--config", dir, "--learning-interval", "300", "--workers", "1"];
  args.push("--host", "127.0.0.1", "--port", "0", "--metrics-port", "0");
  router = ManagedProcess.start("router", process.execPath, args, log);
  const started = await waitFor(
    () => {
      const line = logLines().find((l) => l["msg"]?.toString().includes("Routewise router listening"));
      return line === undefined ? null : (line as { url: string });
    },
    60_000,
    { description: "the router to listen" },
  );
  client = new OpenAI({ baseURL: `${started.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await router.stop(5_000);
  await Promise.all([cheap.close(), strong.close(), judge.close()]);
});

function logLines(): Record<string, unknown>[] {
  return readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function ask(): Promise<{ decision: string; model: string }> {
  const { data, response } = await client.chat.completions
    .create(
      { model: "chat", messages: [{ role: "user", content: "What is the capital of France?" }] },
      { headers: { "x-routewise-tag": "support" } },
    )
    .withResponse();
  return { decision: response.headers.get("x-routewise-decision") ?? "", model: data.model };
}

describe("standalone router: learning from its own judged traffic", () => {
  it("serves a learned table computed in-process, and answers every request while tables are swapped in", async () => {
    const first = await ask();
    expect(first.decision).toMatch(/segment=support\|[a-z]+\|d[0-3]/);
    expect(first.decision).not.toContain("learned(");
    for (let i = 0; i < 9; i++) await ask();

    // Tables are recomputed every 300 ms; each probe is judged too, so n only grows.
    const learned = await waitFor(
      async () => {
        const { decision } = await ask();
        const m = /learned\(lower=([0-9.]+), n=(\d+)\)/.exec(decision);
        return m && Number(m[2]) >= 10 ? { lower: Number(m[1]), n: Number(m[2]) } : null;
      },
      30_000,
      { description: "a decision from the learned table" },
    );
    // The judge scores the cheap answer 8 against the baseline's 9: retention 0.889, the bound below it.
    expect(learned.lower).toBeGreaterThan(0.5);
    expect(learned.lower).toBeLessThan(0.889);
    const applied = logLines().filter((l) => l["msg"] === "Applied learned table");
    expect(applied[0]).toMatchObject({ route: "chat", flipRate: 0, entries: 1, segments: 1 });

    // Concurrent traffic across several relearning intervals: no request fails while configs are swapped.
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, async (_, batch) => {
        await new Promise((r) => setTimeout(r, batch * 150));
        return Promise.all(Array.from({ length: 8 }, () => ask()));
      }),
    );
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    const tables = logLines().filter((l) => l["msg"] === "Applied learned table").length;
    expect(tables).toBeGreaterThan(applied.length);
  }, 120_000);
});
