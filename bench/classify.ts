/**
 * Latency of the built-in analyzer (featurize + ONNX run, one intra-op thread) on prompts of 16-512 tokens.
 * Prints one JSON object. Run: npx tsx bench/classify.ts [--model DIR] [--iterations N]
 * For a strict one-core number: taskset -c 0 npx tsx bench/classify.ts
 */
import { parseArgs } from "node:util";
import { featurize } from "../router/classify/featurize.js";
import { OnnxClassifier } from "../router/classify/onnx-classifier.js";
import type { ClassifyInput } from "../router/classify/types.js";

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

function prompt(tokens: number, seed: number): string {
  const parts: string[] = [];
  let words = 0;
  for (let i = seed; words < tokens * 0.75; i++) {
    const s = SENTENCES[i % SENTENCES.length] ?? "";
    parts.push(s);
    words += s.split(/\s+/).length;
  }
  return parts.join(" ");
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function summary(samples: number[]): { p50: number; p99: number; mean: number } {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return { p50: r(quantile(s, 0.5)), p99: r(quantile(s, 0.99)), mean: r(s.reduce((a, b) => a + b, 0) / s.length) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { model: { type: "string" }, iterations: { type: "string", default: "2000" } },
  });
  const iterations = Number(values.iterations);
  const classifier = await OnnxClassifier.load(
    values.model === undefined ? { cacheSize: 1000 } : { modelDir: values.model, cacheSize: 1000 },
  );
  const lengths = [16, 32, 64, 128, 256, 512];
  const inputs: ClassifyInput[] = Array.from({ length: 240 }, (_, i) => {
    const p = prompt(lengths[i % lengths.length] ?? 64, i);
    return { prompt: p, system: i % 3 === 0 ? "You are a helpful assistant." : "", totalChars: p.length };
  });
  const at512 = inputs.filter((_, i) => i % lengths.length === lengths.length - 1);
  for (let i = 0; i < 500; i++) await classifier.classifyUncached([inputs[i % inputs.length] as ClassifyInput]);

  const time = async (fn: (i: number) => unknown, n: number): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await fn(i);
      out.push(performance.now() - t0);
    }
    return out;
  };
  const uncached = summary(
    await time((i) => classifier.classifyUncached([inputs[i % inputs.length] as ClassifyInput]), iterations),
  );
  const uncached512 = summary(
    await time((i) => classifier.classifyUncached([at512[i % at512.length] as ClassifyInput]), iterations / 2),
  );
  const feat512 = summary(
    await time((i) => featurize(at512[i % at512.length] as ClassifyInput, classifier.metadata.feature), iterations / 2),
  );
  for (const x of inputs) await classifier.classify(x);
  const cached = summary(
    await time((i) => classifier.classify(inputs[i % inputs.length] as ClassifyInput), iterations),
  );

  const batch = 64;
  const t0 = performance.now();
  let done = 0;
  while (performance.now() - t0 < 2000) {
    await classifier.classifyUncached(inputs.slice(0, batch));
    done += batch;
  }
  const throughput = Math.round(done / ((performance.now() - t0) / 1000));
  process.stdout.write(
    JSON.stringify(
      {
        p50_ms: uncached.p50,
        p99_ms: uncached.p99,
        mean_ms: uncached.mean,
        note: "no-cache featurize + ONNX run, prompts 16-512 tokens, 1 intra-op thread",
        p50_ms_512_tokens: uncached512.p50,
        p99_ms_512_tokens: uncached512.p99,
        featurize_p50_ms_512_tokens: feat512.p50,
        featurize_p99_ms_512_tokens: feat512.p99,
        cached_p50_ms: cached.p50,
        cached_p99_ms: cached.p99,
        throughput_per_s_batch64: throughput,
        iterations,
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
