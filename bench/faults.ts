/**
 * Fault-load benchmark (issue 15; not a test). The router (`routewise router`, its own process) on standalone YAML
 * with three providers on mock upstreams (another process): p1 and p2 fail a seeded share of requests with 429s
 * (with and without retry-after), 5xx, resets, hangs, malformed JSON and events, in-band errors and error events,
 * slow first bytes and first tokens, stalls and cuts; p3 is healthy. The load generator (here) sends requests at a
 * fixed concurrency, part streaming (half of those on a route with `midStream: continue`), part through the
 * official `openai` SDK, the rest raw, and checks every answer against what the mocks deterministically say. A
 * share of the traffic goes to a route without p3 ("degraded": its requests can fail, so errors by status and the
 * metrics agreement are exercised); the others have a healthy provider, so none of their non-streaming requests
 * may fail. A baseline phase with the faults off runs first, in the same run.
 *
 * Prints JSON: sent, ok, OpenAI-shaped errors by status, wrong-shape answers, never answered, truncated 200s,
 * streams ending without [DONE] or an error event, crashes, RSS before/after, failed non-streaming requests, and
 * whether /metrics agrees with the client's counts; `targets` says whether each of the targets was met.
 * One fault echoes the request headers (the upstream key among them): `keyLeaks` counts answers and router log
 * lines that still carry a key.
 *
 *   npm run bench:faults [-- --requests 20000 --concurrency 50 --seed 15 --p1 0.4 --p2 0.3 --baseline 2000
 *                           --breaker-failures 10 --degraded-share 0.2 --stream-share 0.4 --sdk-share 0.25]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import OpenAI from "openai";
import { Pool } from "undici";
import { packageRoot } from "../router/config/package-root.js";
import { rng } from "../router/prng.js";
import { freePorts } from "../test/harness/ports.js";
import { defaultReply } from "../test/mocks/mock-server.js";

const { values } = parseArgs({
  options: {
    help: { type: "boolean", default: false },
    requests: { type: "string", default: "20000" },
    concurrency: { type: "string", default: "50" },
    seed: { type: "string", default: "15" },
    /** Share of p1's and p2's requests that get a fault. */
    p1: { type: "string", default: "0.4" },
    p2: { type: "string", default: "0.3" },
    /** Requests of the fault-free baseline phase (0: none). */
    baseline: { type: "string", default: "2000" },
    "stream-share": { type: "string", default: "0.4" },
    "sdk-share": { type: "string", default: "0.25" },
    /**
     * The routes' circuitBreaker.consecutiveFailures. Low values open p1's and p2's circuits much of the time, so
     * little traffic reaches the faults; the default keeps them mostly closed.
     */
    "breaker-failures": { type: "string", default: "10" },
    /** Share of requests on the route without the healthy provider. */
    "degraded-share": { type: "string", default: "0.2" },
    /** Per-request client deadline: an answer later than this counts as never answered. */
    "client-timeout-ms": { type: "string", default: "60000" },
  },
});
if (values.help) {
  process.stdout.write(
    "npm run bench:faults [-- --requests 20000 --concurrency 50 --seed 15 --p1 0.4 --p2 0.3 --baseline 2000\n" +
      "                        --breaker-failures 10 --degraded-share 0.2 --stream-share 0.4 --sdk-share 0.25\n" +
      "                        --client-timeout-ms 60000]\n",
  );
  process.exit(0);
}
const ROOT = packageRoot();
/** In every upstream key of the policy below: an answer or log line containing it leaked a key. */
const KEY_MARK = "-SECRET";
const leaks = { answers: 0, logLines: 0 };

/** Counts an answer that carries an upstream key. */
function checkLeak(text: string): void {
  if (text.includes(KEY_MARK)) leaks.answers++;
}
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);
const SEED = Number(values.seed);
const CLIENT_TIMEOUT = Number(values["client-timeout-ms"]);

const ROUTE = `  candidates: [{ name: p1 }, { name: p2 }, { name: p3 }]
  baseline: { name: p3 }
  retry: { attempts: 2, backoff: { base: 20ms, max: 100ms } }
  timeouts: { request: 15s, attempt: 500ms, firstToken: 500ms, streamIdle: 500ms }
  circuitBreaker: { consecutiveFailures: ${Number(values["breaker-failures"])}, cooldown: 2s, window: 10s }`;

function policy(ports: number[]): string {
  const provider = (name: string, port: number, type: string, score: number) => `apiVersion: routewise.dev/v1alpha1
kind: ModelProvider
metadata: { name: ${name} }
spec:
  type: ${type}
  baseURL: http://127.0.0.1:${port}${type === "anthropic" ? "" : "/v1"}
  model: ${name}-model
  auth: { secretRef: { name: keys, key: ${name} } }
  pricing: { inputPerMillion: 1, outputPerMillion: 2 }
  capabilities: { streaming: true }
  quality: { score: ${score} }
  contextWindow: 100000
---
`;
  const route = (name: string, pin: string, extra: string) => `apiVersion: routewise.dev/v1alpha1
kind: ModelRoute
metadata: { name: ${name} }
spec:
  modelName: ${name}
  rules: [{ name: order, match: {}, pin: [${pin}] }]
${ROUTE}
${extra}
---
`;
  return [
    provider("p1", ports[0] ?? 0, "openai", 60),
    provider("p2", ports[1] ?? 0, "anthropic", 70),
    provider("p3", ports[2] ?? 0, "openai", 80),
    `apiVersion: v1\nkind: Secret\nmetadata: { name: keys }\nstringData: { p1: sk-bench-p1${KEY_MARK}, p2: sk-bench-p2${KEY_MARK}, p3: sk-bench-p3${KEY_MARK} }\n---\n`,
    route("bench", "p1, p2, p3", "  fallback: { maxProviders: 3 }"),
    route("bench-continue", "p1, p2, p3", "  fallback: { maxProviders: 3, midStream: continue }"),
    route("bench-degraded", "p1, p2", "  fallback: { maxProviders: 3, midStream: continue }"),
  ].join("");
}

// ---------------------------------------------------------------------------------------------------------------
// Processes

interface Child {
  child: ChildProcess;
  lines: AsyncIterator<string>;
}

function spawnTs(args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "inherit"],
  });
  return { child, lines: createInterface({ input: child.stdout })[Symbol.asyncIterator]() };
}

async function nextJson(c: Child): Promise<Record<string, unknown>> {
  for (;;) {
    const line = await c.lines.next();
    if (line.done === true) throw new Error("child ended");
    if (line.value.startsWith("{")) return JSON.parse(line.value) as Record<string, unknown>;
  }
}

async function waitReady(url: string, router: ChildProcess): Promise<void> {
  for (let i = 0; i < 600 && router.exitCode === null; i++) {
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the router did not become ready");
}

// ---------------------------------------------------------------------------------------------------------------
// Checking answers

type Kind = "ok" | "error" | "stream_error" | "wrong_shape" | "never_answered" | "truncated_200" | "no_end";

interface Result {
  kind: Kind;
  stream: boolean;
  /** Sent to the route without a healthy provider. */
  degraded?: boolean;
  status: number;
  /** The request's outcome as the router should have recorded it (routewise_requests_total). */
  outcome: string | null;
  ms: number;
  continued?: boolean;
}

function isErrorShape(body: unknown): body is { error: { code: unknown; type: unknown } } {
  if (typeof body !== "object" || body === null || !("error" in body)) return false;
  const e = body.error;
  if (typeof e !== "object" || e === null) return false;
  const keys = Object.keys(e).sort().join(",");
  return keys === "code,message,param,type" && typeof (e as { message: unknown }).message === "string";
}

function outcomeOf(body: { error: { code: unknown; type: unknown } }, status: number): string {
  if (status < 500 && status !== 429 && body.error.type === "invalid_request_error") return "upstream_rejected";
  return String(body.error.code);
}

function completionText(body: unknown): string | null {
  const choice = (body as { choices?: { message?: { content?: unknown }; finish_reason?: unknown }[] }).choices?.[0];
  return typeof choice?.message?.content === "string" && typeof choice.finish_reason === "string"
    ? choice.message.content
    : null;
}

async function rawCompletion(pool: Pool, model: string, prompt: string): Promise<Omit<Result, "ms">> {
  const res = await pool.request({
    path: "/v1/chat/completions",
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: prompt }] }),
    headersTimeout: CLIENT_TIMEOUT,
    bodyTimeout: CLIENT_TIMEOUT,
  });
  const text = await res.body.text();
  checkLeak(JSON.stringify(res.headers) + text);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { kind: "wrong_shape", stream: false, status: res.statusCode, outcome: null };
  }
  if (res.statusCode === 200) {
    const ok = completionText(body) === defaultReply(prompt);
    return { kind: ok ? "ok" : "truncated_200", stream: false, status: 200, outcome: "success" };
  }
  if (!isErrorShape(body)) return { kind: "wrong_shape", stream: false, status: res.statusCode, outcome: null };
  return { kind: "error", stream: false, status: res.statusCode, outcome: outcomeOf(body, res.statusCode) };
}

async function rawStream(pool: Pool, model: string, prompt: string): Promise<Omit<Result, "ms">> {
  const res = await pool.request({
    path: "/v1/chat/completions",
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: prompt }], stream: true }),
    headersTimeout: CLIENT_TIMEOUT,
    bodyTimeout: CLIENT_TIMEOUT,
  });
  const text = await res.body.text();
  checkLeak(JSON.stringify(res.headers) + JSON.stringify(res.trailers) + text);
  if (res.statusCode !== 200) {
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      // wrong shape below
    }
    if (!isErrorShape(body)) return { kind: "wrong_shape", stream: true, status: res.statusCode, outcome: null };
    return { kind: "error", stream: true, status: res.statusCode, outcome: outcomeOf(body, res.statusCode) };
  }
  const continued = typeof res.trailers["x-routewise-continuation"] === "string";
  return { ...readEvents(text, prompt), stream: true, status: 200, continued };
}

function readEvents(text: string, prompt: string): Pick<Result, "kind" | "outcome"> {
  let content = "";
  for (const block of text.split("\n\n")) {
    if (block === "") continue;
    if (!block.startsWith("data: ")) return { kind: "wrong_shape", outcome: null };
    const data = block.slice(6);
    if (data === "[DONE]")
      return { kind: content === defaultReply(prompt) ? "ok" : "truncated_200", outcome: "success" };
    let event: unknown;
    try {
      event = JSON.parse(data);
    } catch {
      return { kind: "wrong_shape", outcome: null };
    }
    if (isErrorShape(event)) return { kind: "stream_error", outcome: "stream_error" };
    const delta = (event as { choices?: { delta?: { content?: unknown } }[] }).choices?.[0]?.delta;
    if (typeof delta?.content === "string") content += delta.content;
  }
  return { kind: "no_end", outcome: null };
}

async function sdkCall(client: OpenAI, model: string, prompt: string, stream: boolean): Promise<Omit<Result, "ms">> {
  const messages = [{ role: "user" as const, content: prompt }];
  try {
    if (!stream) {
      const r = await client.chat.completions.create({ model, messages });
      const ok = r.choices[0]?.message.content === defaultReply(prompt);
      return { kind: ok ? "ok" : "truncated_200", stream, status: 200, outcome: "success" };
    }
    let content = "";
    for await (const chunk of await client.chat.completions.create({ model, messages, stream: true }))
      content += chunk.choices[0]?.delta.content ?? "";
    return { kind: content === defaultReply(prompt) ? "ok" : "truncated_200", stream, status: 200, outcome: "success" };
  } catch (err) {
    return sdkError(err, stream);
  }
}

function sdkError(err: unknown, stream: boolean): Omit<Result, "ms"> {
  checkLeak(`${String(err)} ${JSON.stringify((err as { error?: unknown }).error ?? null)}`);
  if (err instanceof OpenAI.APIConnectionError || !(err instanceof OpenAI.APIError))
    return { kind: "never_answered", stream, status: 0, outcome: null };
  const body: unknown = { error: err.error as unknown };
  const status = err.status as number | undefined;
  // A stream's error event arrives after a 200: the SDK throws an APIError without a status.
  if (status === undefined)
    return isErrorShape(body)
      ? { kind: "stream_error", stream, status: 200, outcome: "stream_error" }
      : { kind: "wrong_shape", stream, status: 200, outcome: null };
  if (!isErrorShape(body)) return { kind: "wrong_shape", stream, status, outcome: null };
  return { kind: "error", stream, status, outcome: outcomeOf(body, status) };
}

// ---------------------------------------------------------------------------------------------------------------
// Load

interface Phase {
  results: Result[];
  seconds: number;
}

async function load(url: string, n: number, seed: number): Promise<Phase> {
  const pool = new Pool(url, { connections: CONCURRENCY, pipelining: 1 });
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "bench", maxRetries: 0, timeout: CLIENT_TIMEOUT });
  const random = rng(seed);
  const plan = Array.from({ length: n }, (_, i) => ({
    prompt: `fault bench prompt ${i % 97}`,
    stream: random() < Number(values["stream-share"]),
    sdk: random() < Number(values["sdk-share"]),
    cont: random() < 0.5,
    degraded: random() < Number(values["degraded-share"]),
  }));
  const results: Result[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < plan.length) {
      const p = plan[next++]!;
      const model = p.degraded ? "bench-degraded" : p.stream && p.cont ? "bench-continue" : "bench";
      const t0 = performance.now();
      const r = await (p.sdk
        ? sdkCall(client, model, p.prompt, p.stream)
        : (p.stream ? rawStream(pool, model, p.prompt) : rawCompletion(pool, model, p.prompt)).catch(
            (): Omit<Result, "ms"> => ({ kind: "never_answered", stream: p.stream, status: 0, outcome: null }),
          ));
      results.push({ ...r, degraded: p.degraded, ms: performance.now() - t0 });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return { results, seconds };
}

function percentile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return Number((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(1));
}

function count<T>(xs: T[], key: (x: T) => string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) {
    const k = key(x);
    if (k !== null) out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Metrics

async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

function series(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labels: Record<string, string> = {};
    for (const m of line.matchAll(/(\w+)="([^"]*)"/g)) labels[m[1]!] = m[2]!;
    out.push({ labels, value: Number(line.slice(line.lastIndexOf(" ") + 1)) });
  }
  return out;
}

function routerOutcomes(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of series(text, "routewise_requests_total")) {
    const o = s.labels["outcome"] ?? "";
    if (s.value > 0) out[o] = (out[o] ?? 0) + s.value;
  }
  return out;
}

function subtract(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const v = (a[k] ?? 0) - (b[k] ?? 0);
    if (v !== 0) out[k] = v;
  }
  return out;
}

function rssMB(text: string): number {
  return Number(((series(text, "routewise_process_resident_memory_bytes")[0]?.value ?? 0) / 2 ** 20).toFixed(1));
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const upstreams = spawnTs(["bench/lib/fault-upstreams.ts", String(SEED), values.p1, values.p2]);
  const { ports } = (await nextJson(upstreams)) as { ports: number[] };
  const dir = mkdtempSync(join(tmpdir(), "routewise-bench-faults-"));
  writeFileSync(join(dir, "policy.yaml"), policy(ports));
  const [port, metricsPort] = await freePorts(2);
  const args = ["router", "--config", dir, "--host", "127.0.0.1", "--port", String(port)];
  const router = spawnTs(["cli/main.ts", ...args, "--metrics-port", String(metricsPort)], { LOG_LEVEL: "warn" });
  let crashes = 0;
  router.child.once("exit", (code, signal) => {
    if (!stopping) crashes++;
    process.stderr.write(`router exited (${String(code ?? signal)})\n`);
  });
  void (async () => {
    // Drain the router's log (stdout), counting lines that carry a key.
    for (let l = await router.lines.next(); l.done !== true; l = await router.lines.next())
      if (l.value.includes(KEY_MARK)) leaks.logLines++;
  })();
  let stopping = false;
  const url = `http://127.0.0.1:${port}`;
  const metricsUrl = `http://127.0.0.1:${metricsPort}`;
  try {
    await waitReady(url, router.child);
    const setFaults = async (on: boolean): Promise<void> => {
      upstreams.child.stdin!.write(on ? "faults on\n" : "faults off\n");
      await nextJson(upstreams);
    };
    await setFaults(false);
    await load(url, Math.min(500, Number(values.baseline)), SEED + 200); // warm-up (JIT, classifier), not reported
    const baseline = await load(url, Number(values.baseline), SEED + 100);
    await setFaults(true);
    const before = await scrape(metricsUrl);
    const run = await load(url, REQUESTS, SEED);
    await new Promise((r) => setTimeout(r, 1_000)); // let the router finish recording the last requests
    const after = await scrape(metricsUrl);
    upstreams.child.stdin!.write("stats\n");
    const { injected } = (await nextJson(upstreams)) as { injected: Record<string, number> };
    const report = { ...summarize(baseline, run, before, after, crashes), injectedFaults: injected };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    stopping = true;
    router.child.kill("SIGTERM");
    upstreams.child.kill("SIGTERM");
  }
}

function summarize(baseline: Phase, run: Phase, before: string, after: string, crashes: number) {
  const rs = run.results;
  const kinds = count(rs, (r) => r.kind);
  const client = count(rs, (r) => r.outcome);
  const router = subtract(routerOutcomes(after), routerOutcomes(before));
  const agree = JSON.stringify(Object.entries(client).sort()) === JSON.stringify(Object.entries(router).sort());
  const inflight = series(after, "routewise_inflight_requests")[0]?.value ?? -1;
  const failedNonStreaming = rs.filter((r) => !r.stream && r.degraded !== true && r.kind !== "ok").length;
  const facts = {
    sent: rs.length,
    ok: kinds["ok"] ?? 0,
    openaiShapedErrorsByStatus: count(
      rs.filter((r) => r.kind === "error"),
      (r) => String(r.status),
    ),
    streamErrorEvents: kinds["stream_error"] ?? 0,
    /** Counted from the x-routewise-continuation trailer, which only the raw clients read. */
    rawStreamsContinued: rs.filter((r) => r.continued === true).length,
    degradedRouteRequests: rs.filter((r) => r.degraded === true).length,
    wrongShape: kinds["wrong_shape"] ?? 0,
    neverAnswered: kinds["never_answered"] ?? 0,
    truncated200: kinds["truncated_200"] ?? 0,
    streamsWithoutDoneOrError: kinds["no_end"] ?? 0,
    /** Non-streaming requests on the routes with a healthy provider that did not get a full answer. */
    failedNonStreaming,
    crashes,
    keyLeaks: { ...leaks },
  };
  return {
    config: {
      requests: REQUESTS,
      concurrency: CONCURRENCY,
      seed: SEED,
      faultShare: { p1: Number(values.p1), p2: Number(values.p2), p3: 0 },
      streamShare: Number(values["stream-share"]),
      sdkShare: Number(values["sdk-share"]),
      degradedShare: Number(values["degraded-share"]),
      breakerConsecutiveFailures: Number(values["breaker-failures"]),
    },
    baseline: phaseStats(baseline),
    faults: { ...facts, ...phaseStats(run) },
    rssMB: { before: rssMB(before), after: rssMB(after) },
    metrics: { agree, inflightAfter: inflight, client, router },
    targets: {
      zeroLost: facts.neverAnswered === 0,
      zeroWrongShape: facts.wrongShape === 0,
      zeroTruncated200: facts.truncated200 === 0,
      zeroStreamsWithoutEnd: facts.streamsWithoutDoneOrError === 0,
      zeroCrashes: crashes === 0,
      metricsAgree: agree && inflight === 0,
      zeroFailedNonStreamingWithAHealthyProvider: failedNonStreaming === 0,
      zeroKeyLeaks: leaks.answers === 0 && leaks.logLines === 0,
    },
  };
}

function phaseStats(p: Phase) {
  const ms = p.results.map((r) => r.ms);
  return {
    requests: p.results.length,
    seconds: Number(p.seconds.toFixed(1)),
    requestsPerSecond: Number((p.results.length / Math.max(p.seconds, 1e-9)).toFixed(1)),
    latencyMs: { p50: percentile(ms, 0.5), p99: percentile(ms, 0.99), max: percentile(ms, 1) },
  };
}

await main();
