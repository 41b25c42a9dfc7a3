/**
 * Proxy overhead benchmark (not a test). In one run on this machine, against the same mock upstream (0 ms):
 *   direct      → the mock itself
 *   bare-proxy  → a bare node:http pass-through proxy (keep-alive) → mock
 *   express-minimal → express + express.json + undici forwarding, no routing (express's own ceiling) → mock
 *   routewise   → the Routewise router (express, classify with the built-in ONNX model, select, dispatch) → mock
 * Each target runs in its own process; the load generator (undici, keep-alive) runs here.
 * Prints JSON: latency at concurrency 1 (p50/p99, added over direct), and closed-loop throughput at a fixed
 * concurrency, as ratios to the bare proxy. Rounds are interleaved so drift hits every target alike.
 *
 * With --redis (issue 17) two more router targets run the same JSON config, whose provider has limits and whose
 * route has a budget, so every request takes a provider slot and reads the budget's spend: `routewise-limits` keeps
 * that state in memory, `routewise-redis` in a redis-server started here; `redis_added_latency_ms` is the second
 * minus the first (target: p50 ≤ 0.3 ms).
 *
 *   npm run bench:proxy [-- --requests 2000 --seconds 5 --concurrency 32 --rounds 3 --stream --profile DIR --redis]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { compileManifests } from "../cli/standalone.js";
import { contentHash } from "../router/config/hash.js";
import { packageRoot } from "../router/config/package-root.js";
import type { RouterConfig } from "../router/config/types.js";
import { startRedis, type RunningRedis } from "../test/harness/redis.js";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "2000" },
    seconds: { type: "string", default: "5" },
    concurrency: { type: "string", default: "32" },
    rounds: { type: "string", default: "3" },
    stream: { type: "boolean", default: false },
    /** Write a V8 CPU profile of the router process into this directory (for finding hot spots). */
    profile: { type: "string" },
    /** Also measure the shared state store: limits and a budget in memory vs in Redis. */
    redis: { type: "boolean", default: false },
  },
});
const ROOT = packageRoot();
const TSX = ["--import", "tsx"];

interface Target {
  name: string;
  port: number;
  path: string;
  model: string;
}

function startChild(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
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

async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function policy(upstreamPort: number): string {
  return `apiVersion: routewise.dev/v1alpha1
kind: ModelProvider
metadata: { name: upstream }
spec:
  type: openai
  baseURL: http://127.0.0.1:${upstreamPort}/v1
  model: mock-model
  pricing: { inputPerMillion: 1, outputPerMillion: 2 }
  quality: { score: 80 }
  capabilities: { tools: true, jsonMode: true, streaming: true }
---
apiVersion: routewise.dev/v1alpha1
kind: ModelRoute
metadata: { name: bench }
spec:
  modelName: bench
  candidates: [{ name: upstream }]
  baseline: { name: upstream }
`;
}

/**
 * The policy compiled to a RouterConfig JSON with the provider's limits (high enough never to refuse) and a route
 * budget (large enough never to step down), as a mounted ConfigMap directory.
 */
function limitedConfigDir(upstreamPort: number): string {
  const dir = mkdtempSync(join(tmpdir(), "routewise-bench-state-"));
  writeFileSync(join(dir, "policy.yaml"), policy(upstreamPort));
  const { config } = compileManifests([join(dir, "policy.yaml")], "default");
  const limits = { maxConcurrency: 10_000, requestsPerMinute: 100_000_000, tokensPerMinute: 0 };
  const budget = { usd: 1e9, period: "day" as const, onExhausted: "reject" as const, degradeAt: 1 };
  const body: Omit<RouterConfig, "hash"> = {
    version: config.version,
    providers: config.providers.map((p) => ({ ...p, limits })),
    routes: config.routes.map((r) => ({ ...r, budget })),
  };
  const configDir = join(dir, "config");
  mkdirSync(configDir);
  writeFileSync(join(configDir, "config.json"), JSON.stringify({ ...body, hash: contentHash(body) }));
  return configDir;
}

/** A router process on `config` (a directory or file), listening on a free port; resolves once it is ready. */
async function startRouterProcess(
  config: string,
  extra: string[] = [],
): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      ...(values.profile === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", values.profile]),
      ...TSX,
      "cli/main.ts",
      ...["router", "--config", config, "--host", "127.0.0.1", "--port", String(port), "--metrics-port", "0"],
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
  return { child, port };
}

let counter = 0;
function body(model: string): string {
  counter++;
  return JSON.stringify({
    model,
    stream: values.stream,
    messages: [
      {
        role: "user",
        content: `Question ${counter}: what is the capital of country number ${counter % 997}? Answer briefly.`,
      },
    ],
  });
}

async function once(pool: Pool, t: Target): Promise<number> {
  const t0 = performance.now();
  const res = await pool.request({
    path: t.path,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: body(t.model),
  });
  await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${t.name}: HTTP ${res.statusCode}`);
  return performance.now() - t0;
}

async function latency(t: Target, n: number): Promise<number[]> {
  const pool = new Pool(`http://127.0.0.1:${t.port}`, { connections: 1, pipelining: 1 });
  for (let i = 0; i < Math.min(200, n / 5); i++) await once(pool, t);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) samples.push(await once(pool, t));
  await pool.close();
  return samples;
}

async function throughput(t: Target, seconds: number, concurrency: number): Promise<number> {
  const pool = new Pool(`http://127.0.0.1:${t.port}`, { connections: concurrency, pipelining: 1 });
  const warmEnd = performance.now() + 1000;
  const end = warmEnd + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await once(pool, t);
        if (performance.now() > warmEnd) done++;
      }
    }),
  );
  await pool.close();
  return done / seconds;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

const median = (xs: number[]): number => pct(xs, 50);
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

const children: ChildProcess[] = [];
let redis: RunningRedis | null = null;
try {
  const mock = await startChild([...TSX, "bench/lib/mock-upstream.ts"]);
  children.push(mock.child);
  const bare = await startChild([...TSX, "bench/lib/bare-proxy.ts", String(mock.port)]);
  children.push(bare.child);
  const exp = await startChild([...TSX, "bench/lib/express-proxy.ts", String(mock.port)]);
  children.push(exp.child);
  const dir = mkdtempSync(join(tmpdir(), "routewise-bench-"));
  writeFileSync(join(dir, "policy.yaml"), policy(mock.port));
  const router = await startRouterProcess(dir);

  const targets: Target[] = [
    { name: "direct", port: mock.port, path: "/v1/chat/completions", model: "mock-model" },
    { name: "bare-proxy", port: bare.port, path: "/v1/chat/completions", model: "mock-model" },
    { name: "express-minimal", port: exp.port, path: "/v1/chat/completions", model: "mock-model" },
    { name: "routewise", port: router.port, path: "/v1/chat/completions", model: "bench" },
  ];
  if (values.redis) {
    redis = await startRedis();
    const config = limitedConfigDir(mock.port);
    const inMemory = await startRouterProcess(config);
    const shared = await startRouterProcess(config, [
      "--redis-url",
      redis.url,
      "--state-key-prefix",
      "routewise:bench",
    ]);
    targets.push(
      { name: "routewise-limits", port: inMemory.port, path: "/v1/chat/completions", model: "bench" },
      { name: "routewise-redis", port: shared.port, path: "/v1/chat/completions", model: "bench" },
    );
  }
  const lat = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const rps = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const rounds = Number(values.rounds);
  for (let r = 0; r < rounds; r++) {
    for (const t of targets) lat.get(t.name)?.push(...(await latency(t, Number(values.requests) / rounds)));
    for (const t of targets)
      rps.get(t.name)?.push(await throughput(t, Number(values.seconds), Number(values.concurrency)));
  }
  const p = (name: string, q: number): number => pct(lat.get(name) ?? [], q);
  const direct = { p50: p("direct", 50), p99: p("direct", 99) };
  const result = {
    benchmark: "proxy",
    mode: values.stream ? "stream (16 chunks)" : "non-streaming",
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? "", node: process.version },
    method: "all processes on one machine; c=1 sequential latency and closed-loop throughput, rounds interleaved",
    latency_ms: Object.fromEntries(
      targets.map((t) => [t.name, { p50: round3(p(t.name, 50)), p99: round3(p(t.name, 99)) }]),
    ),
    added_latency_ms: {
      "bare-proxy": { p50: round3(p("bare-proxy", 50) - direct.p50), p99: round3(p("bare-proxy", 99) - direct.p99) },
      "express-minimal": {
        p50: round3(p("express-minimal", 50) - direct.p50),
        p99: round3(p("express-minimal", 99) - direct.p99),
      },
      routewise: { p50: round3(p("routewise", 50) - direct.p50), p99: round3(p("routewise", 99) - direct.p99) },
    },
    throughput_rps: Object.fromEntries(targets.map((t) => [t.name, Math.round(median(rps.get(t.name) ?? []))])),
    throughput_ratio_vs_bare_proxy: round3(median(rps.get("routewise") ?? []) / median(rps.get("bare-proxy") ?? [1])),
    express_minimal_ratio_vs_bare_proxy: round3(
      median(rps.get("express-minimal") ?? []) / median(rps.get("bare-proxy") ?? [1]),
    ),
    ...(values.redis
      ? redisResult(p, median(rps.get("routewise-redis") ?? []), median(rps.get("routewise-limits") ?? [1]))
      : {}),
    concurrency: Number(values.concurrency),
    targets: {
      added_p50_ms: 1,
      added_p99_ms: 3,
      throughput_ratio: 0.5,
      ...(values.redis ? { redis_added_p50_ms: 0.3 } : {}),
    },
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  for (const c of children) c.kill("SIGTERM");
  await redis?.stop();
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
