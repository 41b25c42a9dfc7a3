/**
 * A router whose log reader fails it (bin/routewise.js; run `npm run build` first): stdout is a pipe that nobody
 * reads, or whose reader has gone. The router keeps answering, and after SIGTERM it drains and exits 0 — before
 * the fix it never exited: the exit flush retried a full pipe (EAGAIN) every 100 ms, and a closed one (EPIPE), for
 * ever. The lines it drops are counted in routewise_log_lines_dropped_total, whose series exists at 0 from the start
 * (what RoutewiseLogLinesDropped's increase() needs); how many lines may wait is cli/fd-sink.test.ts's.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIMock, type OpenAIMockHandle } from "../mocks/openai-mock.js";
import { mockProvider, route, routerConfig, writeMounted } from "./json-router.js";

const BIN = fileURLToPath(new URL("../../bin/routewise.js", import.meta.url));

type Router = ChildProcessByStdio<null, Readable, Readable>;

let mock: OpenAIMockHandle;
let mounted: { dir: string; creds: string };
const started: Router[] = [];

beforeAll(async () => {
  mock = await startOpenAIMock();
  mounted = writeMounted(
    routerConfig([mockProvider("up", mock.url, 80, [1, 2])], [route("chat", ["default/up"], "default/up")]),
    {
      "default.up": "sk-up",
    },
  );
});

afterAll(async () => {
  for (const child of started) child.kill("SIGKILL");
  await mock.close();
});

/** Starts a router at LOG_LEVEL=info (an access-log line per request) and reads stdout up to its listening line. */
async function startRouter(): Promise<{ child: Router; url: string; metricsUrl: string }> {
  const args = [BIN, "router", "--config", mounted.dir, "--credentials", mounted.creds];
  args.push("--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--workers", "1");
  const child = spawn(process.execPath, args, {
    env: { ...process.env, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  child.stderr.resume();
  const urls = await new Promise<{ url: string; metricsUrl: string }>((resolve, reject) => {
    let seen = "";
    const onData = (d: Buffer) => {
      seen += d.toString();
      const line = seen.split("\n").find((l) => l.includes("Routewise router listening"));
      if (line === undefined) return;
      child.stdout.off("data", onData);
      resolve(JSON.parse(line) as { url: string; metricsUrl: string });
    };
    child.stdout.on("data", onData);
    child.once("exit", (code) => reject(new Error(`the router exited (${String(code)}) before it listened`)));
  });
  return { child, ...urls };
}

/** routewise_log_lines_dropped_total{destination="stdout"} from the router's /metrics, or null without the series. */
async function droppedStdoutLines(metricsUrl: string): Promise<number | null> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const m = /^routewise_log_lines_dropped_total\{destination="stdout"\} (\d+)$/m.exec(text);
  return m?.[1] === undefined ? null : Number(m[1]);
}

/** `total` chat completions, `concurrency` at a time; the statuses seen. */
async function chats(url: string, total: number, concurrency: number): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  const one = async (): Promise<void> => {
    while (next < total) {
      next++;
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: `question ${next}` }] }),
      });
      await res.text();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, one));
  return statuses;
}

/** SIGTERM, then the exit code, or "running" if it has not exited within `ms`. */
async function terminate(child: Router, ms: number): Promise<number | string> {
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? String(signal)));
  });
  child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve("running"), ms);
  });
  const result = await Promise.race([exited, late]);
  clearTimeout(timer);
  return result;
}

describe("a router whose stdout is not read", () => {
  it("keeps answering while nobody reads its stdout, and exits 0 after SIGTERM", async () => {
    const { child, url, metricsUrl } = await startRouter();
    expect(await droppedStdoutLines(metricsUrl)).toBe(0);
    child.stdout.pause(); // the pipe (64 KiB) and the stream's buffer fill after a few hundred lines
    const statuses = await chats(url, 1500, 8);
    expect(statuses).toEqual(new Map([[200, 1500]]));
    // Generous: the drain, then at most 2 s of retrying the full pipe. The old code did not exit at all.
    expect(await terminate(child, 30_000)).toBe(0);
  }, 120_000);

  it("keeps answering after its stdout reader has gone (EPIPE), and exits 0 after SIGTERM", async () => {
    const { child, url, metricsUrl } = await startRouter();
    child.stdout.destroy();
    const statuses = await chats(url, 300, 4);
    expect(statuses).toEqual(new Map([[200, 300]]));
    // Every access line after the reader went is counted, once its batch (at most 100 ms) was handed over.
    await expect.poll(() => droppedStdoutLines(metricsUrl), { timeout: 10_000 }).toBeGreaterThanOrEqual(300);
    expect(await terminate(child, 30_000)).toBe(0);
  }, 120_000);
});
