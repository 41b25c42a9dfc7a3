/**
 * Router memory per worker (issue 18; not a test): one router process (`--workers 1`, the built-in analyzer,
 * standalone policy) against the mock upstream. Its memory is read from its own /metrics (resident set, V8 heap
 * used and total, external): idle once ready, then sampled every second through --seconds (default 60) of
 * closed-loop load at --concurrency (default 32) with prompts unique after normalisation (no decision-cache hits),
 * and once more after the load. Each --runtime is measured in turn: dist (node on the compiled dist/, as production
 * runs it; `npm run build` first) and/or tsx (the sources, as the other benchmarks ran them before). Prints JSON
 * with issue 18's target (≤ 150 MB resident per worker idle and after the load).
 *
 *   npm run bench:memory [-- --seconds 60 --concurrency 32 --runtime dist,tsx]
 */
import { parseArgs } from "node:util";
import { closedLoop } from "./lib/load.js";
import { scrape, sumOf } from "./lib/prom-scrape.js";
import { children, parseRuntime, policyDir, startMock, startRouter } from "./lib/router-process.js";

const { values } = parseArgs({
  options: {
    help: { type: "boolean", default: false },
    seconds: { type: "string", default: "60" },
    concurrency: { type: "string", default: "32" },
    runtime: { type: "string", default: "dist" },
  },
});
if (values.help) {
  process.stdout.write("npm run bench:memory [-- --seconds 60 --concurrency 32 --runtime dist,tsx]\n");
  process.exit(0);
}
const TARGET_MB = 150;
const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

interface Memory {
  rss_mb: number;
  heap_used_mb: number;
  heap_total_mb: number;
  external_mb: number;
}

async function memory(metricsUrl: string): Promise<Memory> {
  const text = await scrape(Number(new URL(metricsUrl).port));
  return {
    rss_mb: mb(sumOf(text, "routewise_process_resident_memory_bytes")),
    heap_used_mb: mb(sumOf(text, "routewise_nodejs_heap_size_used_bytes")),
    heap_total_mb: mb(sumOf(text, "routewise_nodejs_heap_size_total_bytes")),
    external_mb: mb(sumOf(text, "routewise_nodejs_external_memory_bytes")),
  };
}

async function measure(runtime: "dist" | "tsx", upstream: number) {
  const router = await startRouter(policyDir(upstream), 1, runtime);
  await new Promise((r) => setTimeout(r, 2000)); // start-up garbage collected, timers settled
  const idle = await memory(router.metrics);
  const seconds = Number(values.seconds);
  const peak = { ...idle };
  const sampler = setInterval(() => {
    void memory(router.metrics).then((m) => {
      peak.rss_mb = Math.max(peak.rss_mb, m.rss_mb);
      peak.heap_used_mb = Math.max(peak.heap_used_mb, m.heap_used_mb);
      peak.heap_total_mb = Math.max(peak.heap_total_mb, m.heap_total_mb);
      peak.external_mb = Math.max(peak.external_mb, m.external_mb);
    });
  }, 1000);
  const requests = await closedLoop(router.api, seconds, Number(values.concurrency));
  clearInterval(sampler);
  const after = await memory(router.metrics);
  process.kill(router.pid, "SIGTERM");
  const worst = Math.max(idle.rss_mb, after.rss_mb);
  return {
    idle,
    peak_during_load: peak,
    after_load: after,
    requests,
    target_rss_mb: { value: worst, target: TARGET_MB, pass: worst <= TARGET_MB },
  };
}

try {
  const runtimes = values.runtime.split(",").map((r) => parseRuntime(r.trim()));
  const upstream = await startMock();
  const result: Record<string, unknown> = {
    benchmark: "memory",
    seconds: Number(values.seconds),
    concurrency: Number(values.concurrency),
    workers: 1,
  };
  for (const runtime of runtimes) result[runtime] = await measure(runtime, upstream);
  console.log(JSON.stringify(result, null, 2));
} finally {
  for (const c of children) c.kill("SIGTERM");
}
