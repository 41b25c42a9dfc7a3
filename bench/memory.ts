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
import { Pool } from "undici";
import { scrape, sumOf } from "./lib/prom-scrape.js";
import { chatBody, children, parseRuntime, policyDir, startMock, startRouter } from "./lib/router-process.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    concurrency: { type: "string", default: "32" },
    runtime: { type: "string", default: "dist" },
  },
});
const TARGET_MB = 150;
const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
let counter = 0;

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

/** Closed loop for `seconds`; resolves with the requests done and the failures. */
async function load(api: string, seconds: number, concurrency: number): Promise<{ ok: number; failed: number }> {
  const pool = new Pool(api, { connections: concurrency });
  const end = Date.now() + seconds * 1000;
  const done = { ok: 0, failed: 0 };
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const res = await pool.request({
          path: "/v1/chat/completions",
          method: "POST",
          headers: { "content-type": "application/json" },
          body: chatBody(counter++),
        });
        await res.body.text();
        if (res.statusCode === 200) done.ok++;
        else done.failed++;
      }
    }),
  );
  await pool.close();
  return done;
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
  const requests = await load(router.api, seconds, Number(values.concurrency));
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
