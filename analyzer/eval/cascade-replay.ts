/**
 * `npm run eval:cascade`: the cascade's built-in verifiers replayed on recorded answers. RouteProfile
 * (../shared/data/routeprofile-ulab, MIT) holds, for 600 prompts of 12 benchmarks, every model's response, its
 * correctness and its tokens. For a cheap → strong pair the cascade returns the cheap answer when the verifiers
 * accept it and the strong one otherwise; this prints its accuracy and cost next to always-cheap, always-strong and
 * a random router escalating the same share, overall and per benchmark (JSON with --json).
 *
 * The verifiers are the router's own (router/verify), run as the cascade runs them (checkAnswer, in order), with
 * the task a request of that benchmark would carry (math for gsm8k/mgsm). Nothing here is fitted: the verifiers have
 * no parameters but the logprobs threshold, and RouteProfile has no log-probabilities.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Task, VerifierName } from "../../router/config/types.js";
import { checkAnswer } from "../../router/verify/run.js";

interface ModelRun {
  response: string;
  correct: number;
  input: number;
  output: number;
}

interface Row {
  task: string;
  runs: Map<string, ModelRun>;
}

interface Price {
  input: number;
  output: number;
}

const DATA = join("..", "shared", "data", "routeprofile-ulab", "raw");
const VERIFIERS: VerifierName[] = ["structure", "math", "refusal"];
const PAIRS: [string, string][] = [
  ["llama-3.1-8b-instruct", "llama-3.3-70b-instruct"],
  ["qwen2.5-7b-instruct", "llama-3.3-70b-instruct"],
  ["llama-3.2-3b-instruct", "mistral-small-24b-instruct-2501-bf16"],
];

const TASK_OF: Record<string, Task> = { gsm8k: "math", "agentverse-mgsm": "math", mbpp: "code", human_eval: "code" };

function load(dir: string): { rows: Row[]; prices: Map<string, Price> } {
  const raw = JSON.parse(readFileSync(join(dir, "routing_test_data.json"), "utf8")) as {
    task_name: string;
    model_performance: Record<string, Record<string, string>>;
  }[];
  const rows = raw.map((r) => ({
    task: r.task_name,
    runs: new Map(
      Object.entries(r.model_performance).map(([m, p]) => [
        m,
        {
          response: p["response"] ?? "",
          correct: Number(p["task_performance"] ?? 0),
          input: Number(p["input_token"] ?? p["prompt_tokens"] ?? 0),
          output: Number(p["output_token"] ?? p["completion_tokens"] ?? 0),
        },
      ]),
    ),
  }));
  const models = JSON.parse(readFileSync(join(dir, "candidate_models.json"), "utf8")) as Record<
    string,
    { input_price: number; output_price: number }
  >;
  const prices = new Map(Object.entries(models).map(([m, p]) => [m, { input: p.input_price, output: p.output_price }]));
  return { rows, prices };
}

interface Tally {
  n: number;
  cheap: number;
  strong: number;
  cascade: number;
  escalated: number;
  costCheap: number;
  costStrong: number;
  costCascade: number;
}

const empty = (): Tally => ({
  n: 0,
  cheap: 0,
  strong: 0,
  cascade: 0,
  escalated: 0,
  costCheap: 0,
  costStrong: 0,
  costCascade: 0,
});

function cost(run: ModelRun, price: Price): number {
  return (run.input * price.input + run.output * price.output) / 1e6;
}

function replayPair(rows: Row[], prices: Map<string, Price>, cheapModel: string, strongModel: string) {
  const byTask = new Map<string, Tally>();
  const all = empty();
  const pc = prices.get(cheapModel);
  const ps = prices.get(strongModel);
  if (!pc || !ps) throw new Error(`no price for ${cheapModel} or ${strongModel}`);
  for (const row of rows) {
    const cheap = row.runs.get(cheapModel);
    const strong = row.runs.get(strongModel);
    if (!cheap || !strong) continue;
    const accepted = verified(row.task, cheap.response);
    const tally = byTask.get(row.task) ?? empty();
    byTask.set(row.task, tally);
    for (const t of [all, tally])
      add(t, { cheap, strong, accepted, costCheap: cost(cheap, pc), costStrong: cost(strong, ps) });
  }
  const tasks = Object.fromEntries([...byTask].map(([k, v]) => [k, summary(v)]));
  return { pair: `${cheapModel} → ${strongModel}`, all: summary(all), tasks };
}

/** Whether the cascade's verifiers accept the cheap answer to a prompt of this benchmark. */
function verified(benchmark: string, response: string): boolean {
  const task = TASK_OF[benchmark];
  const answer = { content: response, toolCalls: [], finishReason: "stop", logprobs: null };
  const input = { request: { model: "m", messages: [] }, answer, ...(task ? { task } : {}) };
  return checkAnswer(VERIFIERS, input, { logprobsThreshold: Number.NEGATIVE_INFINITY }).accepted;
}

function add(
  t: Tally,
  x: { cheap: ModelRun; strong: ModelRun; accepted: boolean; costCheap: number; costStrong: number },
): void {
  t.n++;
  t.cheap += x.cheap.correct;
  t.strong += x.strong.correct;
  t.costCheap += x.costCheap;
  t.costStrong += x.costStrong;
  t.costCascade += x.costCheap + (x.accepted ? 0 : x.costStrong);
  t.cascade += x.accepted ? x.cheap.correct : x.strong.correct;
  t.escalated += x.accepted ? 0 : 1;
}

/** Accuracies, the escalation share, the cost relative to always-strong, and a random router at that share. */
function summary(t: Tally) {
  const share = t.escalated / Math.max(1, t.n);
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return {
    n: t.n,
    accuracy: {
      cheap: r(t.cheap / t.n),
      strong: r(t.strong / t.n),
      cascade: r(t.cascade / t.n),
      random_same_share: r((1 - share) * (t.cheap / t.n) + share * (t.strong / t.n)),
    },
    escalated: r(share),
    cost_vs_strong: { cheap: r(t.costCheap / t.costStrong), cascade: r(t.costCascade / t.costStrong) },
  };
}

function main(): void {
  const { rows, prices } = load(DATA);
  const results = PAIRS.map(([c, s]) => replayPair(rows, prices, c, s));
  if (process.argv.includes("--json")) {
    process.stdout.write(`${JSON.stringify({ verifiers: VERIFIERS, results }, null, 2)}\n`);
    return;
  }
  for (const res of results) {
    process.stdout.write(`\n${res.pair} (verifiers: ${VERIFIERS.join(", ")})\n`);
    process.stdout.write("benchmark | n | cheap | strong | cascade | random@share | escalated | cost cascade/strong\n");
    for (const [name, s] of [["ALL", res.all] as const, ...Object.entries(res.tasks)])
      process.stdout.write(
        `${name} | ${s.n} | ${s.accuracy.cheap} | ${s.accuracy.strong} | ${s.accuracy.cascade} | ${s.accuracy.random_same_share} | ${s.escalated} | ${s.cost_vs_strong.cascade}\n`,
      );
  }
}

main();
