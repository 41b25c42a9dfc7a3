/**
 * The built-in analyzer's decision cost on its two engines (ADR 15): the synchronous JS evaluator (the default
 * when it agrees with ONNX Runtime at load) and ONNX Runtime (the reference and fallback, concurrent rows batched
 * into one session.run). Decision cache disabled, every prompt unique after normalisation (asserted).
 *
 * - single: one decision at a time; wall per decision (p50/p99) and CPU per decision.
 * - concurrent: `--concurrency` (32) requests in flight on one event loop. Each request takes a turn of the loop
 *   for its I/O, spends `--other-us` (300) µs of CPU in that turn on the rest of its work (issue 18 measured about
 *   0.45 ms per request besides classification), then decides; the decision's wall time is what
 *   routewise_routing_duration_seconds sees. CPU per decision excludes the simulated work.
 * Engines alternate within each round, so both see the same machine; on a shared machine read the ratios.
 *
 * Prints one JSON object. Run: npm run bench:classify [-- --rounds 3 --decisions 2000 --concurrency 32 --other-us 300]
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { parseArgs } from "node:util";
import { featurizeSparse, prepareInput, promptKey } from "../router/classify/featurize.js";
import { OnnxClassifier } from "../router/classify/onnx-classifier.js";
import type { Classification, ClassifyInput } from "../router/classify/types.js";
import { wordTag } from "./lib/prompts.js";

const SENTENCES = [
  "Explain the difference between a process and a thread in an operating system.",
  "The quarterly report shows revenue of $12.4M, up 8% year over year, while operating costs rose 11%.",
  "def merge(a, b):\n    out = []\n    while a and b:\n        out.append(a.pop(0) if a[0] < b[0] else b.pop(0))\n    return out + a + b",
  "A train leaves at 9:15 and travels 240 km at 80 km/h; when does it arrive if it stops twice for 10 minutes?",
  "Summarize the following meeting notes and list every action item with its owner and due date.",
  "The patient reports intermittent chest pain, shortness of breath and a history of hypertension.",
  "Write a short poem about the sea at night, in the style of a sonnet, without using the word 'moon'.",
  "Under the lease, the tenant must give 60 days' notice; the landlord claims the deposit for repairs.",
];

/** Words for a unique tag per prompt: digits would not do, the cache key folds every digit to 0. */
const TAG_WORDS = [
  "amber", "birch", "cedar", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper", "kestrel", "lagoon",
  "maple", "nectar", "orchid", "pepper", "quartz", "raven", "saffron", "tundra", "umber", "violet", "willow", "yarrow",
]; // prettier-ignore

/** Prompt i: 16-512 tokens of the sentences, then a tag no other prompt has. */
function input(i: number): ClassifyInput {
  const lengths = [16, 32, 64, 128, 256, 512];
  const tokens = lengths[i % lengths.length] ?? 64;
  const parts: string[] = [];
  let words = 0;
  for (let s = i; words < tokens * 0.75; s++) {
    const sentence = SENTENCES[s % SENTENCES.length] ?? "";
    parts.push(sentence);
    words += sentence.split(/\s+/).length;
  }
  const prompt = `${parts.join(" ")} (ref ${wordTag(i, TAG_WORDS)})`;
  const system = i % 3 === 0 ? "You are a helpful assistant." : "";
  return { prompt, system, totalChars: prompt.length + system.length };
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const r1 = (x: number): number => Math.round(x * 10) / 10;

function cpuUs(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return c.user + c.system;
}

/** Spends `us` microseconds of CPU on the event loop (the rest of a request's work). */
function burn(us: number): void {
  const until = performance.now() + us / 1000;
  while (performance.now() < until) {
    /* spin */
  }
}

interface Samples {
  wallMs: number[];
  /** CPU of each decision (single calls only: nothing else runs meanwhile). */
  cpuEachUs: number[];
  cpuUs: number;
  decisions: number;
}

const empty = (): Samples => ({ wallMs: [], cpuEachUs: [], cpuUs: 0, decisions: 0 });

async function decideOnce(c: OnnxClassifier, x: ClassifyInput): Promise<number> {
  const t0 = performance.now();
  const r: Classification | Promise<Classification> = c.classify(x);
  if (r instanceof Promise) await r;
  return performance.now() - t0;
}

async function single(c: OnnxClassifier, inputs: readonly ClassifyInput[], into: Samples): Promise<void> {
  const t0 = process.cpuUsage();
  for (const x of inputs) {
    const c0 = process.cpuUsage();
    into.wallMs.push(await decideOnce(c, x));
    into.cpuEachUs.push(cpuUs(c0));
  }
  into.cpuUs += cpuUs(t0);
  into.decisions += inputs.length;
}

async function concurrent(
  c: OnnxClassifier,
  inputs: readonly ClassifyInput[],
  opts: { concurrency: number; otherUs: number },
  into: Samples,
): Promise<void> {
  let next = 0;
  let otherCpu = 0;
  const t0 = process.cpuUsage();
  const worker = async (): Promise<void> => {
    for (let i = next++; i < inputs.length; i = next++) {
      await nextTurn();
      const b0 = process.cpuUsage();
      burn(opts.otherUs);
      otherCpu += cpuUs(b0);
      into.wallMs.push(await decideOnce(c, inputs[i] as ClassifyInput));
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  into.cpuUs += cpuUs(t0) - otherCpu;
  into.decisions += inputs.length;
}

interface Report {
  cpu_us_per_decision: number;
  p50_ms: number;
  p99_ms: number;
  cpu_p50_us?: number;
  cpu_p99_us?: number;
}

function report(s: Samples): Report {
  const sorted = [...s.wallMs].sort((a, b) => a - b);
  const cpu = [...s.cpuEachUs].sort((a, b) => a - b);
  return {
    cpu_us_per_decision: r1(s.cpuUs / s.decisions),
    p50_ms: r3(quantile(sorted, 0.5)),
    p99_ms: r3(quantile(sorted, 0.99)),
    // Wall percentiles include the OS descheduling this process on a shared machine; CPU per call does not.
    ...(cpu.length === 0 ? {} : { cpu_p50_us: quantile(cpu, 0.5), cpu_p99_us: quantile(cpu, 0.99) }),
  };
}

function ratios(
  js: Report,
  ortR: Report,
): { ort_over_js_cpu: number; ort_over_js_p50: number; ort_over_js_p99: number } {
  const q = (a: number, b: number): number => Math.round((a / b) * 100) / 100;
  return {
    ort_over_js_cpu: q(ortR.cpu_us_per_decision, js.cpu_us_per_decision),
    ort_over_js_p50: q(ortR.p50_ms, js.p50_ms),
    ort_over_js_p99: q(ortR.p99_ms, js.p99_ms),
  };
}

function options(): { rounds: number; decisions: number; concurrency: number; otherUs: number; model?: string } {
  const { values } = parseArgs({
    options: {
      model: { type: "string" },
      rounds: { type: "string", default: "3" },
      decisions: { type: "string", default: "2000" },
      concurrency: { type: "string", default: "32" },
      "other-us": { type: "string", default: "300" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log("npm run bench:classify [-- --model DIR --rounds 3 --decisions 2000 --concurrency 32 --other-us 300]");
    process.exit(0);
  }
  return {
    rounds: Number(values.rounds),
    decisions: Number(values.decisions),
    concurrency: Number(values.concurrency),
    otherUs: Number(values["other-us"]),
    ...(values.model === undefined ? {} : { model: values.model }),
  };
}

async function main(): Promise<void> {
  const o = options();
  const base = { cacheSize: 0, ...(o.model === undefined ? {} : { modelDir: o.model }) };
  const js = await OnnxClassifier.load(base);
  const ortC = await OnnxClassifier.load({ ...base, engine: "ort" });
  if (js.engine.kind !== "js") throw new Error(`the JS evaluator is not in use: ${js.engine.reason}`);
  // Per round and engine: one batch of unique prompts for single calls, one for the concurrent phase.
  const perRound = 4 * o.decisions;
  const all = Array.from({ length: o.rounds * perRound + 500 }, (_, i) => input(i));
  const keys = new Set(all.map(promptKey));
  if (keys.size !== all.length) throw new Error(`prompts are not unique after normalisation: ${keys.size} keys`);
  const warm = all.slice(o.rounds * perRound);
  for (const x of warm) {
    await js.classify(x);
    await ortC.classify(x);
  }
  const s = { js: empty(), ort: empty() };
  const cc = { js: empty(), ort: empty() };
  const batched = { runs: 0, rows: 0 };
  for (let round = 0; round < o.rounds; round++) {
    const at = (k: number): ClassifyInput[] =>
      all.slice(round * perRound + k * o.decisions, round * perRound + (k + 1) * o.decisions);
    await single(js, at(0), s.js);
    await single(ortC, at(1), s.ort);
    await concurrent(js, at(2), o, cc.js);
    const before = ortC.ortRuns;
    await concurrent(ortC, at(3), o, cc.ort);
    batched.runs += ortC.ortRuns.runs - before.runs;
    batched.rows += ortC.ortRuns.rows - before.rows;
  }
  const featurizeCpu = (() => {
    const t0 = process.cpuUsage();
    for (const x of warm) featurizeSparse(prepareInput(x), js.metadata.feature);
    return r1(cpuUs(t0) / warm.length);
  })();
  const single_ = { js: report(s.js), ort: report(s.ort) };
  const concurrent_ = { js: report(cc.js), ort: report(cc.ort) };
  process.stdout.write(
    JSON.stringify(
      {
        note: "decision = featurize + graph + decode, cache disabled, unique prompts of 16-512 tokens; shared machine: read the ratios",
        js_engine: js.engine.reason,
        prompts_unique: keys.size,
        single: { ...single_, ...ratios(single_.js, single_.ort) },
        concurrent: {
          concurrency: o.concurrency,
          other_work_us_per_request: o.otherUs,
          ...concurrent_,
          ...ratios(concurrent_.js, concurrent_.ort),
          ort_mean_rows_per_run: r1(batched.rows / Math.max(1, batched.runs)),
        },
        featurize_cpu_us_per_decision: featurizeCpu,
        rounds: o.rounds,
        decisions_per_phase: o.decisions * o.rounds,
        node: process.version,
      },
      null,
      2,
    ) + "\n",
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
