/**
 * Proxy overhead benchmark (not a test). In one run on this machine, against the same mock upstream (0 ms):
 *   direct           → the mock itself
 *   bare-proxy       → a bare node:http pass-through proxy (keep-alive) → mock
 *   express-minimal  → express + express.json + undici forwarding, no routing (express's own ceiling) → mock
 *   json-minimal     → node:http + JSON.parse + undici forwarding + JSON.stringify, no routing: the floor of any
 *                      proxy that reads the request and the answer (as Routewise must) → mock
 *   routewise        → the Routewise router (classify with the built-in analyzer, select, dispatch) → mock, every
 *                      prompt unique after the analyzer's normalisation (its decision cache never hits; asserted)
 *   routewise-cached → a second router process on the same config, a fixed set of 8 prompts (cache hits)
 *   litellm-1w / litellm-<n>w (--litellm) → LiteLLM's proxy, 1 worker and one per core → mock
 * Each target runs in its own process; the load generator (undici, keep-alive) runs here.
 *
 * Prints JSON: latency at concurrency 1 (p50/p99, added over direct; with --stream also time to first byte),
 * closed-loop throughput at a fixed concurrency as ratios to the bare proxy, CPU ms per request of each target's
 * process tree over the throughput phase (/proc/<pid>/stat) and over the c=1 phase (`cpu_ms_per_request_c1`: set
 * beside the added latency, how much of it is the target's own work), the routers' decision cache hit ratio and
 * their own routing-decision histogram (`routewise_routing_duration_seconds`, scraped before and after each phase, quantiles
 * interpolated within buckets) at c=1 and at the throughput phase's concurrency, and issue 18's targets with
 * pass/fail. Every target first serves `--warmup` seconds of the throughput phase's load, unmeasured, so each is
 * measured in its steady state (JIT tiered up); rounds are interleaved so drift hits every target alike. Exits
 * non-zero if the uncached target's cache hit ratio exceeds 1% (the benchmark would be measuring cache hits).
 *
 * With --redis (issue 17) two more router targets run the same JSON config, whose provider has limits and whose
 * route has a budget, so every request takes a provider slot and reads the budget's spend: `routewise-limits` keeps
 * that state in memory, `routewise-redis` in a redis-server started here; `redis_added_latency_ms` is the second
 * minus the first (target: p50 ≤ 0.3 ms).
 *
 *   npm run bench:proxy [-- --requests 2000 --seconds 5 --concurrency 32 --rounds 3 --warmup 5 --stream --profile DIR
 *                          --redis --litellm --workers N --runtime dist|tsx]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { compileManifests } from "../cli/standalone.js";
import { contentHash } from "../router/config/hash.js";
import { configVersionFor } from "../router/config/version.js";
import { assertBuilt, benchPolicy, parseRuntime, routerEntry } from "./lib/router-process.js";
import { packageRoot } from "../router/config/package-root.js";
import type { RouterConfig } from "../router/config/types.js";
import { normalizeText } from "../router/classify/featurize.js";
import { freePorts } from "../test/harness/ports.js";
import { startRedis, type RunningRedis } from "../test/harness/redis.js";
import { ensureLiteLLM, LITELLM_VERSION, startLiteLLM } from "./lib/litellm.js";
import { cachedPrompt, CACHED_PROMPTS, uniquePrompt } from "./lib/prompts.js";
import { add, diff, histogramOf, quantile, scrape, sumOf, type Histogram } from "./lib/prom-scrape.js";
import { treeCpuMs } from "./lib/proc-cpu.js";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "2000" },
    seconds: { type: "string", default: "5" },
    concurrency: { type: "string", default: "32" },
    rounds: { type: "string", default: "3" },
    /** Seconds of unmeasured load on every target before the first round (steady state: the JIT has tiered up). */
    warmup: { type: "string", default: "5" },
    stream: { type: "boolean", default: false },
    /** Write a V8 CPU profile of the router process into this directory (for finding hot spots). */
    profile: { type: "string" },
    /** Also measure the shared state store: limits and a budget in memory vs in Redis. */
    redis: { type: "boolean", default: false },
    /** Also measure LiteLLM's proxy (installed into a cached venv), 1 worker and one per core. */
    litellm: { type: "boolean", default: false },
    /** Run the routers with `--workers N` (default 1: per-core figures). */
    workers: { type: "string" },
    /** dist (default: node on the compiled dist/, as production runs it; `npm run build` first) or tsx. */
    runtime: { type: "string", default: "dist" },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(
    "npm run bench:proxy [-- --requests 2000 --seconds 5 --concurrency 32 --rounds 3 --warmup 5 --stream --profile DIR\n" +
      "                       --redis --litellm --workers N --runtime dist|tsx]   (prints one JSON document; see bench/proxy.ts)",
  );
  process.exit(0);
}
const ROOT = packageRoot();
const TSX = ["--import", "tsx"];
const RUNTIME = parseRuntime(values.runtime);
const CHAT = "/v1/chat/completions";
const MAX_UNCACHED_HIT_RATIO = 0.01;
const log = (line: string): void => void process.stderr.write(`${line}\n`);

interface Target {
  name: string;
  port: number;
  path: string;
  model: string;
  /** The process (tree) serving it, for CPU time. */
  pid: number | undefined;
  /** The router's metrics port (routers only). */
  metricsPort?: number;
  headers?: Record<string, string>;
  prompt: (n: number) => string;
}

/** What one target accumulates over the rounds. */
interface Tally {
  lat: number[];
  ttfb: number[];
  rps: number[];
  cpuMsPerReq: number[];
  /** CPU ms per request of the c=1 phase: set beside the added latency, how much of it is work, not waiting. */
  cpuMsPerReqC1: number[];
  decisionC1: Histogram;
  decisionLoaded: Histogram;
  hits: number;
  misses: number;
}

function startChild(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: process.env, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (d: string): void => {
      buf += d;
      const m = /^(\d+)\n/m.exec(buf);
      if (!m?.[1]) return;
      // Stop parsing once started; keep draining the pipe so the child never blocks on a full stdout.
      child.stdout.off("data", onData);
      child.stdout.resume();
      resolve({ child, port: Number(m[1]) });
    };
    child.stdout.on("data", onData);
    child.once("exit", (code) => reject(new Error(`child ${args.join(" ")} exited with ${code}`)));
  });
}

async function waitReady(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the router did not become ready");
}

/**
 * The policy compiled to a RouterConfig JSON with the provider's limits (high enough never to refuse) and a route
 * budget (large enough never to step down), as a mounted ConfigMap directory.
 */
function limitedConfigDir(upstreamPort: number): string {
  const dir = mkdtempSync(join(tmpdir(), "routewise-bench-state-"));
  writeFileSync(join(dir, "policy.yaml"), benchPolicy(upstreamPort));
  const { config } = compileManifests([join(dir, "policy.yaml")], "default");
  const limits = { maxConcurrency: 10_000, requestsPerMinute: 100_000_000, tokensPerMinute: 0 };
  const budget = { usd: 1e9, period: "day" as const, onExhausted: "reject" as const, degradeAt: 1 };
  const content = {
    providers: config.providers.map((p) => ({ ...p, limits })),
    routes: config.routes.map((r) => ({ ...r, budget })),
  };
  // A route budget needs config v2 (router/config/version.ts: a v1 router would ignore it).
  const body: Omit<RouterConfig, "hash"> = { version: configVersionFor(content), ...content };
  const configDir = join(dir, "config");
  mkdirSync(configDir);
  writeFileSync(join(configDir, "config.json"), JSON.stringify({ ...body, hash: contentHash(body) }));
  return configDir;
}

/**
 * `--workers N` for the routers: 1 unless asked (the per-core figures compare one router process with the one bare
 * proxy process; the router's own default, auto, would use every core).
 */
function routerWorkerArgs(): { args: string[]; note: string } {
  const n = values.workers ?? "1";
  return { args: ["--workers", n], note: n };
}

/** A router process on `config` (a directory or file), with a known metrics port; resolves once it is ready. */
async function startRouterProcess(
  config: string,
  extra: string[] = [],
): Promise<{ child: ChildProcess; port: number; metricsPort: number }> {
  const [port, metricsPort] = await freePorts(2);
  const child = spawn(
    process.execPath,
    [
      ...(values.profile === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", values.profile]),
      ...routerEntry(RUNTIME),
      ...["router", "--config", config, "--host", "127.0.0.1", "--port", String(port)],
      ...["--metrics-port", String(metricsPort)],
      ...extra,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: process.env["LOG_LEVEL"] ?? "warn" },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  children.push(child);
  await waitReady(port);
  return { child, port, metricsPort };
}

let counter = 0;
function body(t: Target): string {
  counter++;
  return JSON.stringify({
    model: t.model,
    stream: values.stream,
    messages: [{ role: "user", content: t.prompt(counter) }],
  });
}

/** One request: total time and (streams) time to the first body byte, in ms. */
async function once(pool: Pool, t: Target): Promise<{ total: number; ttfb: number }> {
  const t0 = performance.now();
  const res = await pool.request({
    path: t.path,
    method: "POST",
    headers: { "content-type": "application/json", ...t.headers },
    body: body(t),
  });
  let ttfb = NaN;
  if (values.stream) {
    for await (const chunk of res.body) {
      if (Number.isNaN(ttfb) && (chunk as Buffer).length > 0) ttfb = performance.now() - t0;
    }
  } else {
    // A whole answer arrives at once; undici's collector is lighter on the load generator than an async iterator,
    // whose own allocations and GC pauses would show in every target's p99.
    await res.body.text();
  }
  if (res.statusCode !== 200) throw new Error(`${t.name}: HTTP ${res.statusCode}`);
  return { total: performance.now() - t0, ttfb };
}

/** The router's routing histogram and cache counters now (or nothing for a target that is no router). */
async function routerState(t: Target): Promise<{ h: Histogram; hits: number; misses: number } | null> {
  if (t.metricsPort === undefined) return null;
  const text = await scrape(t.metricsPort);
  return {
    h: histogramOf(text, "routewise_routing_duration_seconds"),
    hits: sumOf(text, "routewise_classifier_cache_hits_total"),
    misses: sumOf(text, "routewise_classifier_cache_misses_total"),
  };
}

/** Runs `phase` between two scrapes of the router and adds what changed to the tally. */
async function measured(t: Target, tally: Tally, which: "c1" | "loaded", phase: () => Promise<void>): Promise<void> {
  const before = await routerState(t);
  await phase();
  const after = await routerState(t);
  if (!before || !after) return;
  const d = diff(after.h, before.h);
  if (which === "c1") tally.decisionC1 = add(tally.decisionC1, d);
  else tally.decisionLoaded = add(tally.decisionLoaded, d);
  tally.hits += after.hits - before.hits;
  tally.misses += after.misses - before.misses;
}

/**
 * `n` sequential requests (c=1), after a second of the throughput phase's load (as that phase has): the target sat
 * idle while the others ran, and a process woken from idle is slower for a while than one in use (V8's memory
 * reducer has shrunk its heap, caches are cold), more so the more code it runs.
 */
async function latency(t: Target, tally: Tally, n: number): Promise<void> {
  await warmUp(t, 1, Number(values.concurrency));
  const pool = new Pool(`http://127.0.0.1:${t.port}`, { connections: 1, pipelining: 1 });
  for (let i = 0; i < Math.min(200, n / 5); i++) await once(pool, t);
  await measured(t, tally, "c1", async () => {
    const cpu0 = t.pid === undefined ? NaN : treeCpuMs(t.pid);
    for (let i = 0; i < n; i++) {
      const r = await once(pool, t);
      tally.lat.push(r.total);
      tally.ttfb.push(r.ttfb);
    }
    const cpu1 = t.pid === undefined ? NaN : treeCpuMs(t.pid);
    tally.cpuMsPerReqC1.push((cpu1 - cpu0) / n);
  });
  await pool.close();
}

/** `concurrency` clients on `pool`, each sending the next request as soon as the last answered, until `end`. */
async function closedLoop(pool: Pool, t: Target, concurrency: number, end: number, count: () => void): Promise<void> {
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await once(pool, t);
        count();
      }
    }),
  );
}

/**
 * Before the first round: `seconds` of the throughput phase's load, unmeasured, so every target is measured in its
 * steady state (V8 has compiled the hot path with its optimising tier: the router's first ~10,000 requests run
 * partly in the interpreter and baseline code, and its c=1 latency then is ~2x the steady state's).
 */
async function warmUp(t: Target, seconds: number, concurrency: number): Promise<void> {
  if (seconds <= 0) return;
  const pool = new Pool(`http://127.0.0.1:${t.port}`, { connections: concurrency, pipelining: 1 });
  await closedLoop(pool, t, concurrency, performance.now() + seconds * 1000, () => undefined);
  await pool.close();
}

/** Closed loop at `concurrency` for `seconds` after a 1 s warm-up; requests/s and CPU ms/request of the target. */
async function throughput(t: Target, tally: Tally, seconds: number, concurrency: number): Promise<void> {
  const pool = new Pool(`http://127.0.0.1:${t.port}`, { connections: concurrency, pipelining: 1 });
  await closedLoop(pool, t, concurrency, performance.now() + 1000, () => undefined);
  let done = 0;
  await measured(t, tally, "loaded", async () => {
    const cpu0 = t.pid === undefined ? NaN : treeCpuMs(t.pid);
    const t0 = performance.now();
    await closedLoop(pool, t, concurrency, t0 + seconds * 1000, () => done++);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu1 = t.pid === undefined ? NaN : treeCpuMs(t.pid);
    tally.rps.push(done / elapsed);
    tally.cpuMsPerReq.push((cpu1 - cpu0) / done);
  });
  await pool.close();
}

function pct(xs: number[], p: number): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

const median = (xs: number[]): number => pct(xs, 50);
const round3 = (x: number): number => Math.round(x * 1000) / 1000;
const ms = (seconds: number): number => round3(seconds * 1000);

function newTally(): Tally {
  const empty = { buckets: [], count: 0 };
  return {
    lat: [],
    ttfb: [],
    rps: [],
    cpuMsPerReq: [],
    cpuMsPerReqC1: [],
    decisionC1: empty,
    decisionLoaded: empty,
    hits: 0,
    misses: 0,
  };
}

/** The first `n` unique prompts really are distinct after the analyzer's normalisation (cheap self-check). */
function assertUniquePrompts(n: number): void {
  const keys = new Set(Array.from({ length: n }, (_, i) => normalizeText(uniquePrompt(i + 1))));
  if (keys.size !== n) throw new Error(`bench prompts are not unique after normalisation: ${keys.size} of ${n}`);
}

const children: ChildProcess[] = [];
const state: { redis: RunningRedis | null } = { redis: null };

async function baseTargets(workerArgs: string[]): Promise<{ targets: Target[]; mockPort: number }> {
  const mock = await startChild([...TSX, "bench/lib/mock-upstream.ts"]);
  children.push(mock.child);
  const bare = await startChild([...TSX, "bench/lib/bare-proxy.ts", String(mock.port)]);
  children.push(bare.child);
  const exp = await startChild([...TSX, "bench/lib/express-proxy.ts", String(mock.port)]);
  children.push(exp.child);
  const json = await startChild([...TSX, "bench/lib/json-proxy.ts", String(mock.port)]);
  children.push(json.child);
  const dir = mkdtempSync(join(tmpdir(), "routewise-bench-"));
  writeFileSync(join(dir, "policy.yaml"), benchPolicy(mock.port));
  const router = await startRouterProcess(dir, workerArgs);
  const cachedRouter = await startRouterProcess(dir, workerArgs);
  const plain = { path: CHAT, model: "mock-model", prompt: uniquePrompt };
  const rw = { path: CHAT, model: "bench" };
  return {
    mockPort: mock.port,
    targets: [
      { name: "direct", port: mock.port, pid: mock.child.pid, ...plain },
      { name: "bare-proxy", port: bare.port, pid: bare.child.pid, ...plain },
      { name: "express-minimal", port: exp.port, pid: exp.child.pid, ...plain },
      { name: "json-minimal", port: json.port, pid: json.child.pid, ...plain },
      { name: "routewise", ...router, pid: router.child.pid, ...rw, prompt: uniquePrompt },
      { name: "routewise-cached", ...cachedRouter, pid: cachedRouter.child.pid, ...rw, prompt: cachedPrompt },
    ],
  };
}

async function redisTargets(mockPort: number): Promise<Target[]> {
  const redis = await startRedis();
  state.redis = redis;
  const config = limitedConfigDir(mockPort);
  const inMemory = await startRouterProcess(config);
  const shared = await startRouterProcess(config, ["--redis-url", redis.url, "--state-key-prefix", "routewise:bench"]);
  const rw = { path: CHAT, model: "bench", prompt: uniquePrompt };
  return [
    { name: "routewise-limits", ...inMemory, pid: inMemory.child.pid, ...rw },
    { name: "routewise-redis", ...shared, pid: shared.child.pid, ...rw },
  ];
}

/** LiteLLM with 1 worker and one per core, or none (with the reason) if it cannot be installed or started. */
async function litellmTargets(mockPort: number): Promise<{ targets: Target[]; note: string }> {
  const installed = ensureLiteLLM(log);
  if ("error" in installed) {
    log(`Skipped LiteLLM: ${installed.error}`);
    return { targets: [], note: `skipped: ${installed.error}` };
  }
  const targets: Target[] = [];
  for (const workers of [...new Set([1, availableParallelism()])]) {
    try {
      const [port] = await freePorts(1);
      const l = await startLiteLLM({ bin: installed.bin, upstreamPort: mockPort, port, workers });
      children.push(l.child);
      targets.push({
        name: `litellm-${workers}w`,
        port: l.port,
        pid: l.child.pid,
        path: CHAT,
        model: "bench",
        headers: { authorization: `Bearer ${l.masterKey}` },
        prompt: uniquePrompt,
      });
    } catch (err) {
      log(`Skipped LiteLLM with ${workers} worker(s): ${(err as Error).message}`);
    }
  }
  return { targets, note: `litellm[proxy]==${LITELLM_VERSION}` };
}

/** The cached router's decision cache is filled before measuring, so its phases see hits only. */
async function primeCache(t: Target): Promise<void> {
  const pool = new Pool(`http://127.0.0.1:${t.port}`, { connections: 1 });
  for (let i = 0; i < CACHED_PROMPTS.length; i++) await once(pool, t);
  await pool.close();
}

function decisionFigures(tally: Tally | undefined) {
  const empty = { buckets: [], count: 0 };
  const c1 = tally?.decisionC1 ?? empty;
  const loaded = tally?.decisionLoaded ?? empty;
  return {
    decision_c1_p50_ms: ms(quantile(c1, 0.5)),
    decision_c1_p99_ms: ms(quantile(c1, 0.99)),
    decision_loaded_p50_ms: ms(quantile(loaded, 0.5)),
    decision_loaded_p99_ms: ms(quantile(loaded, 0.99)),
    decisions_counted: { c1: c1.count, loaded: loaded.count },
  };
}

const hitRatio = (t: Tally | undefined): number => (t ? t.hits / Math.max(1, t.hits + t.misses) : NaN);

function check(value: number, target: number, atLeast = false) {
  return { value: round3(value), target, pass: atLeast ? value >= target : value <= target };
}

function report(targets: Target[], tallies: Map<string, Tally>, notes: { workers: string; litellm: string }) {
  const tally = (name: string): Tally | undefined => tallies.get(name);
  const p = (name: string, q: number): number => pct(tally(name)?.lat ?? [], q);
  const f = (name: string, q: number): number => pct(tally(name)?.ttfb ?? [], q);
  const rps = (name: string): number => median(tally(name)?.rps ?? []);
  const added = (name: string) => ({
    p50: round3(p(name, 50) - p("direct", 50)),
    p99: round3(p(name, 99) - p("direct", 99)),
  });
  const proxies = targets.filter((t) => t.name !== "direct").map((t) => t.name);
  const decision = decisionFigures(tally("routewise"));
  const ratio = rps("routewise") / rps("bare-proxy");
  const addedRw = added("routewise");
  const ttfbAdded = {
    p50: round3(f("routewise", 50) - f("direct", 50)),
    p99: round3(f("routewise", 99) - f("direct", 99)),
  };
  return {
    benchmark: "proxy",
    mode: values.stream ? "stream (16 chunks)" : "non-streaming",
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? "", node: process.version },
    method:
      "all processes on one machine; c=1 sequential latency and closed-loop throughput, rounds interleaved; " +
      "routewise: prompts unique after normalisation; routewise-cached: 8 fixed prompts; CPU = target process tree; " +
      `each target warmed up first (${values.warmup} s of the throughput load, unmeasured)`,
    warmup_seconds: Number(values.warmup),
    latency_ms: Object.fromEntries(
      targets.map((t) => [t.name, { p50: round3(p(t.name, 50)), p99: round3(p(t.name, 99)) }]),
    ),
    added_latency_ms: Object.fromEntries(proxies.map((n) => [n, added(n)])),
    ...(values.stream
      ? {
          ttfb_ms: Object.fromEntries(
            targets.map((t) => [t.name, { p50: round3(f(t.name, 50)), p99: round3(f(t.name, 99)) }]),
          ),
          ttfb_added_ms: Object.fromEntries(
            proxies.map((n) => [
              n,
              { p50: round3(f(n, 50) - f("direct", 50)), p99: round3(f(n, 99) - f("direct", 99)) },
            ]),
          ),
        }
      : {}),
    throughput_rps: Object.fromEntries(targets.map((t) => [t.name, Math.round(rps(t.name))])),
    throughput_ratio_vs_bare_proxy: round3(ratio),
    throughput_ratio_vs_bare_proxy_by_target: Object.fromEntries(
      proxies.map((n) => [n, round3(rps(n) / rps("bare-proxy"))]),
    ),
    express_minimal_ratio_vs_bare_proxy: round3(rps("express-minimal") / rps("bare-proxy")),
    cpu_ms_per_request: Object.fromEntries(
      targets.map((t) => [t.name, round3(median(tally(t.name)?.cpuMsPerReq ?? []))]),
    ),
    cpu_ms_per_request_c1: Object.fromEntries(
      targets.map((t) => [t.name, round3(median(tally(t.name)?.cpuMsPerReqC1 ?? []))]),
    ),
    cache_hit_ratio: {
      routewise: round3(hitRatio(tally("routewise"))),
      "routewise-cached": round3(hitRatio(tally("routewise-cached"))),
    },
    ...decision,
    decision_cached: decisionFigures(tally("routewise-cached")),
    ...(values.redis ? redisResult(p, rps("routewise-redis"), rps("routewise-limits")) : {}),
    concurrency: Number(values.concurrency),
    router_workers: notes.workers,
    router_runtime: RUNTIME,
    ...(values.litellm ? { litellm: notes.litellm } : {}),
    targets: {
      added_p50_ms: check(addedRw.p50, 0.5),
      added_p99_ms: check(addedRw.p99, 2),
      decision_loaded_p50_ms: check(decision.decision_loaded_p50_ms, 0.5),
      decision_loaded_p99_ms: check(decision.decision_loaded_p99_ms, 2),
      ...(values.stream ? { ttfb_added_p50_ms: check(ttfbAdded.p50, 0.5) } : {}),
      throughput_ratio: check(ratio, 0.5, true),
      ...(values.redis ? { redis_added_p50_ms: check(p("routewise-redis", 50) - p("routewise-limits", 50), 0.3) } : {}),
    },
  };
}

/** The shared store's cost: Redis over in-memory state, same config (a provider slot and a budget read per request). */
function redisResult(p: (name: string, q: number) => number, redisRps: number, memoryRps: number) {
  return {
    redis_added_latency_ms: {
      p50: round3(p("routewise-redis", 50) - p("routewise-limits", 50)),
      p99: round3(p("routewise-redis", 99) - p("routewise-limits", 99)),
    },
    redis_throughput_ratio_vs_in_memory: round3(redisRps / memoryRps),
  };
}

let failed = false;
try {
  if (RUNTIME === "dist") assertBuilt();
  const rounds = Number(values.rounds);
  const perRound = Number(values.requests) / rounds;
  assertUniquePrompts(Math.min(20_000, Number(values.requests) * 2));
  const workers = routerWorkerArgs();
  const { targets, mockPort } = await baseTargets(workers.args);
  if (values.redis) targets.push(...(await redisTargets(mockPort)));
  const peer = values.litellm ? await litellmTargets(mockPort) : { targets: [], note: "" };
  targets.push(...peer.targets);
  await primeCache(targets.find((t) => t.name === "routewise-cached")!);
  const tallies = new Map<string, Tally>(targets.map((t) => [t.name, newTally()]));
  for (const t of targets) await warmUp(t, Number(values.warmup), Number(values.concurrency));
  for (let r = 0; r < rounds; r++) {
    for (const t of targets) await latency(t, tallies.get(t.name)!, perRound);
    for (const t of targets)
      await throughput(t, tallies.get(t.name)!, Number(values.seconds), Number(values.concurrency));
  }
  const result = report(targets, tallies, { workers: workers.note, litellm: peer.note });
  console.log(JSON.stringify(result, null, 2));
  for (const [name, c] of Object.entries(result.targets))
    log(
      `${c.pass ? "PASS" : "FAIL"} ${name}: ${c.value} (target ${name === "throughput_ratio" ? "≥" : "≤"} ${c.target})`,
    );
  const uncached = result.cache_hit_ratio.routewise;
  if (!(uncached <= MAX_UNCACHED_HIT_RATIO)) {
    log(
      `Invalid run: the uncached target's decision cache hit ratio is ${uncached} (> ${MAX_UNCACHED_HIT_RATIO}); its prompts are not unique after normalisation`,
    );
    failed = true;
  }
} finally {
  for (const c of children) c.kill("SIGTERM");
  await state.redis?.stop();
}
if (failed) process.exitCode = 1;
