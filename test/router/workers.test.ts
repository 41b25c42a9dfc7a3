/**
 * `routewise router --workers 2` (issue 18): one bin/routewise.js (run `npm run build` first) whose node:cluster
 * primary forks two workers sharing the API port. Requests are answered by both workers (each access-log line
 * carries its worker's pid, matched to the answer's x-request-id); one scrape of the primary's metrics port sums
 * both workers' counters; a rewritten config reaches every worker; a killed worker is replaced; SIGTERM lets every
 * worker finish its in-flight requests before the pod exits 0, with every answer's line in the --request-log file both
 * workers append to.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManagedProcess } from "../harness/process.js";
import { waitFor } from "../harness/wait.js";
import { startOpenAIMock, type OpenAIMockHandle } from "../mocks/openai-mock.js";
import { mockProvider, route, routerConfig, writeMounted } from "./json-router.js";

const BIN = fileURLToPath(new URL("../../bin/routewise.js", import.meta.url));
const CREDENTIALS = { "default.cheap": "sk-cheap", "default.limited": "sk-limited" };
/** The pod's requests per minute to the limited provider: 2 per worker. */
const POD_RPM = 4;

let mock: OpenAIMockHandle;
let router: ManagedProcess;
let configDir: string;
let urls: { api: string; metrics: string };
let requestLog: string;

function config(routes: string[]) {
  const limits = { maxConcurrency: 0, requestsPerMinute: POD_RPM, tokensPerMinute: 0 };
  const providers = [
    mockProvider("cheap", mock.url, 80, [1, 2]),
    { ...mockProvider("limited", mock.url, 80, [1, 2]), limits },
  ];
  return routerConfig(providers, [
    ...routes.map((r) => route(r, ["default/cheap"], "default/cheap")),
    route("limited", ["default/limited"], "default/limited"),
  ]);
}

interface LogLine {
  msg?: string;
  pid?: number;
  requestId?: string;
  url?: string;
  metricsUrl?: string;
}

function logLines(): LogLine[] {
  return readFileSync(router.logPath, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine);
}

/** The pids of the workers that said they started, in order. */
const startedWorkers = (): number[] =>
  logLines()
    .filter((l) => l.msg === "Started router worker")
    .map((l) => l.pid ?? 0);

/** A POST on its own connection (so the primary's round-robin sees a new connection). */
async function post(path: string, body: unknown) {
  const dispatcher = new Agent({ pipelining: 0 });
  try {
    const res = await request(`${urls.api}${path}`, {
      method: "POST",
      dispatcher,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    await res.body.text();
    const header = (n: string) => String(res.headers[n]);
    return { status: res.statusCode, requestId: header("x-request-id"), token: header("x-routewise-feedback-token") };
  } finally {
    await dispatcher.close();
  }
}

const chat = (model = "chat") =>
  post("/v1/chat/completions", { model, max_tokens: 8, messages: [{ role: "user", content: "Hello there!" }] });

async function scrape(): Promise<string> {
  return request(`${urls.metrics}/metrics`).then((r) => r.body.text());
}

const requestsTotal = (text: string): number =>
  [...text.matchAll(/^routewise_requests_total\{[^}]*\} (\S+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);

/**
 * The pids whose access-log lines carry these request ids, once every one of them has its line (a worker writes its
 * access log in batches, up to 100 ms late).
 */
function pidsOf(requestIds: string[]): Promise<Set<number>> {
  const wanted = new Set(requestIds);
  return waitFor(
    () => {
      const lines = logLines().filter((l) => l.requestId !== undefined && wanted.has(l.requestId));
      return new Set(lines.map((l) => l.requestId)).size === wanted.size && new Set(lines.map((l) => l.pid ?? 0));
    },
    10_000,
    { description: `access-log lines of ${wanted.size} requests` },
  );
}

async function ready(): Promise<boolean> {
  return request(`${urls.api}/readyz`).then(async (r) => {
    await r.body.text();
    return r.statusCode === 200;
  });
}

beforeAll(async () => {
  mock = await startOpenAIMock();
  const { dir, creds } = writeMounted(config(["chat"]), CREDENTIALS);
  configDir = dir;
  const logDir = mkdtempSync(join(tmpdir(), "routewise-workers-"));
  const log = join(logDir, "router.log");
  requestLog = join(logDir, "requests.jsonl");
  const args = [BIN, "router", "--config", dir, "--credentials", creds, "--host", "127.0.0.1", "--port", "0"];
  args.push("--request-log", requestLog);
  args.push("--metrics-port", "0", "--workers", "2", "--poll-interval", "500", "--drain-timeout", "60000");
  router = ManagedProcess.start("router", process.execPath, args, log);
  const line = await waitFor(
    () => logLines().find((l) => l.msg?.startsWith("Routewise router listening") === true),
    60_000,
    { description: "the router's workers to listen" },
  );
  urls = { api: line.url ?? "", metrics: line.metricsUrl ?? "" };
  await waitFor(ready, 30_000, { description: "the pod to be ready" });
}, 120_000);

afterAll(async () => {
  await router.stop(10_000);
  await mock.close();
});

describe("routewise router --workers 2", () => {
  it("serves requests from two worker processes and sums their counters in one scrape", async () => {
    const before = requestsTotal(await scrape());
    const answers = await Promise.all(Array.from({ length: 20 }, () => chat()));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const pids = await pidsOf(answers.map((a) => a.requestId));
    expect(pids.size).toBe(2);
    expect(pids.has(router.pid ?? -1)).toBe(false); // workers answer, not the primary
    expect(requestsTotal(await scrape()) - before).toBe(20);
  }, 60_000);

  it("holds an in-memory provider limit for the pod, not per worker, without Redis", async () => {
    // Each worker enforces requestsPerMinute / 2; the minute's window outlasts the test.
    const answers = [];
    for (let i = 0; i < 12; i++) answers.push(await chat("limited"));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(POD_RPM);
    expect((await pidsOf(answers.map((a) => a.requestId))).size).toBe(2);
  }, 60_000);

  it("accepts on every worker the feedback tokens any worker signed (one key per pod)", async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => chat()));
    expect((await pidsOf(answers.map((a) => a.requestId))).size).toBe(2);
    const feedback = await Promise.all(answers.map((a) => post("/v1/feedback", { token: a.token, score: 1 })));
    expect(feedback.map((f) => f.status)).toEqual(Array.from({ length: 10 }, () => 200));
  }, 60_000);

  it("reloads a rewritten config in every worker", async () => {
    const next = config(["chat", "extra"]);
    writeFileSync(join(configDir, "config.json"), JSON.stringify(next));
    // config_info aggregates by max: the old hash disappears only once both workers run the new config.
    await waitFor(
      async () => {
        const info = [...(await scrape()).matchAll(/^routewise_config_info\{[^}]*hash="([^"]+)"[^}]*\} 1$/gm)];
        return info.length === 1 && info[0]?.[1] === next.hash;
      },
      60_000,
      { description: "both workers to run the new config" },
    );
    const answers = await Promise.all(Array.from({ length: 10 }, () => chat("extra")));
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 10 }, () => 200));
    expect((await pidsOf(answers.map((a) => a.requestId))).size).toBe(2);
  }, 90_000);

  it("replaces a killed worker", async () => {
    const [victim] = startedWorkers();
    process.kill(victim ?? 0, "SIGKILL");
    const replaced = await waitFor(() => (startedWorkers().length >= 3 ? startedWorkers().at(-1) : null), 60_000, {
      description: "a replacement worker",
    });
    expect(replaced).not.toBe(victim);
    await waitFor(ready, 30_000, { description: "the pod to be ready again" });
    const answers = await Promise.all(Array.from({ length: 10 }, () => chat()));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(await pidsOf(answers.map((a) => a.requestId))).toContain(replaced);
  }, 120_000);

  it("drains in-flight requests in every worker on SIGTERM, then exits 0", async () => {
    mock.setFaults({ delayHeadersMs: 3_000 });
    const before = mock.requests.length;
    const inflight = Array.from({ length: 8 }, () => chat());
    // Every request reached the upstream (so each is in flight in a worker) before the signal.
    await waitFor(() => mock.requests.length - before >= 8, 30_000, { description: "requests in flight" });
    process.kill(router.pid ?? 0, "SIGTERM");
    const answers = await Promise.all(inflight);
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 8 }, () => 200));
    const exit = await router.exited;
    expect(exit.code).toBe(0);
    // Every answer's access-log line reached stdout before its worker exited.
    expect((await pidsOf(answers.map((a) => a.requestId))).size).toBe(2);
    // And the request log both workers appended to holds every request answered, each line whole.
    const logged = readFileSync(requestLog, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => (JSON.parse(l) as { requestId?: string }).requestId);
    expect(new Set(logged).size).toBe(logged.length);
    expect(logged).toEqual(expect.arrayContaining(answers.map((a) => a.requestId)));
  }, 120_000);
});
