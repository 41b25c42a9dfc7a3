/**
 * Memory soak (issue 18; not a test): a router (standalone policy, the built-in classifier) against the mock
 * upstream at a steady moderate open-loop rate for --minutes (default 10), its memory sampled every --sample
 * seconds (default 10) from its own /metrics: resident set and V8 heap used, summed over the workers with
 * --workers N (the primary's aggregation) and divided per worker. Prompts differ in words, so the decision cache
 * does not hide the classifier. Prints JSON: the series and the least-squares slope in MB/min of each, fitted from
 * the first sample after one interval of warm-up (growth beyond noise is a leak to look at).
 *
 *   npm run bench:soak [-- --minutes 10 --rate 50 --workers 1 --sample 10 --runtime dist|tsx]
 */
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { chatBody, children, parseRuntime, policyDir, startMock, startRouter } from "./lib/router-process.js";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    rate: { type: "string", default: "50" },
    workers: { type: "string", default: "1" },
    sample: { type: "string", default: "10" },
    /** dist (default: node on the compiled dist/, as production) or tsx (the sources). */
    runtime: { type: "string", default: "dist" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log("npm run bench:soak [-- --minutes 10 --rate 50 --workers 1 --sample 10 --runtime dist|tsx]");
  process.exit(0);
}
const MINUTES = Number(values.minutes);
const RATE = Number(values.rate);
const SAMPLE_S = Number(values.sample);
const WORKERS = Number(values.workers);

async function metricSum(url: string, name: string): Promise<number> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  const re = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm");
  return [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

interface Sample {
  t_s: number;
  rss_mb_per_worker: number;
  heap_used_mb_per_worker: number;
}

async function main(): Promise<void> {
  const upstream = await startMock();
  const router = await startRouter(policyDir(upstream), WORKERS, parseRuntime(values.runtime));
  const pool = new Pool(router.api, { connections: 8 });
  let sent = 0;
  let ok = 0;
  let failed = 0;
  const send = (): void => {
    const n = sent++;
    const body = chatBody(n);
    pool
      .request({ path: "/v1/chat/completions", method: "POST", headers: { "content-type": "application/json" }, body })
      .then(async (res) => {
        await res.body.text();
        if (res.statusCode === 200) ok++;
        else failed++;
      })
      .catch(() => failed++);
  };
  const mb = (bytes: number): number => Math.round((bytes / WORKERS / 1024 / 1024) * 10) / 10;
  const samples: Sample[] = [];
  const started = Date.now();
  const sample = async (): Promise<void> => {
    const [rss, heap] = await Promise.all([
      metricSum(router.metrics, "routewise_process_resident_memory_bytes"),
      metricSum(router.metrics, "routewise_nodejs_heap_size_used_bytes"),
    ]);
    samples.push({
      t_s: Math.round((Date.now() - started) / 1000),
      rss_mb_per_worker: mb(rss),
      heap_used_mb_per_worker: mb(heap),
    });
  };
  await sample();
  const tick = setInterval(send, 1000 / RATE);
  const sampler = setInterval(() => void sample(), SAMPLE_S * 1000);
  await new Promise((r) => setTimeout(r, MINUTES * 60_000));
  clearInterval(tick);
  clearInterval(sampler);
  await sample();
  await pool.close();
  const fitted = samples.filter((s) => s.t_s >= SAMPLE_S);
  const fit = (key: "rss_mb_per_worker" | "heap_used_mb_per_worker"): number =>
    Math.round(slope(fitted.map((s) => [s.t_s / 60, s[key]])) * 1000) / 1000;
  console.log(
    JSON.stringify(
      {
        workers: WORKERS,
        runtime: values.runtime,
        rate_per_s: RATE,
        minutes: MINUTES,
        requests: { sent, ok, failed },
        rss_slope_mb_per_min: fit("rss_mb_per_worker"),
        heap_slope_mb_per_min: fit("heap_used_mb_per_worker"),
        samples,
      },
      null,
      2,
    ),
  );
}

try {
  await main();
} finally {
  for (const c of children) c.kill("SIGTERM");
}
