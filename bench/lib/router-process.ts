/**
 * Shared by the benchmarks: the mock upstream, a standalone policy, a router process. Routers run the way
 * production runs them (node on the compiled dist/, `npm run build` first) unless asked for tsx (the sources).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../../router/config/package-root.js";
import { uniquePrompt } from "./prompts.js";

const ROOT = packageRoot();
/** Every child started here; kill them when done. */
export const children: ChildProcess[] = [];

/** How a router process runs: "dist" = `node bin/routewise.js` (production, the image's CMD), "tsx" = the sources. */
export type RouterRuntime = "dist" | "tsx";

export function parseRuntime(value: string | undefined): RouterRuntime {
  if (value === undefined || value === "dist" || value === "tsx") return value ?? "dist";
  throw new Error(`--runtime must be dist or tsx, got ${value}`);
}

/** Newest modification time (ms) of the non-test .ts sources under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts"))
      newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Throws unless dist/ exists and is newer than the sources it is built from (a stale build measures old code). */
export function assertBuilt(): void {
  const main = join(ROOT, "dist", "cli", "main.js");
  if (!existsSync(main)) throw new Error("dist/ is missing: run `npm run build` (or pass --runtime tsx)");
  const built = statSync(main).mtimeMs;
  const stale = ["cli", "router", "operator"].some((d) => newestSource(join(ROOT, d)) > built);
  if (stale) throw new Error("dist/ is older than the sources: run `npm run build` (or pass --runtime tsx)");
}

/**
 * The node flags the image's entrypoint gives every Routewise process (Dockerfile, whose ENTRYPOINT
 * test/helm/image.test.ts pins; keep the three equal), so the benchmarks run the router as production does.
 */
export const ROUTER_NODE_FLAGS = ["--max-semi-space-size=8", "--no-memory-reducer"] as const;

/** The node arguments before `router ...` for a runtime. */
export function routerEntry(runtime: RouterRuntime): string[] {
  return runtime === "dist" ? [...ROUTER_NODE_FLAGS, "bin/routewise.js"] : ["--import", "tsx", "cli/main.ts"];
}

export function startMock(): Promise<number> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/lib/mock-upstream.ts"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout.once("data", (d: Buffer) => {
      child.stdout.resume();
      resolve(Number(d.toString().trim()));
    });
    child.once("exit", (code) => reject(new Error(`mock upstream exited with ${code}`)));
  });
}

/** The benchmarks' policy: one OpenAI-compatible provider on the mock upstream, one route over it. */
export function benchPolicy(upstreamPort: number): string {
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

/** benchPolicy written into a fresh directory (a standalone router's --config). */
export function policyDir(upstreamPort: number): string {
  const dir = mkdtempSync(join(tmpdir(), "routewise-bench-"));
  writeFileSync(join(dir, "policy.yaml"), benchPolicy(upstreamPort));
  return dir;
}

/** Starts the router and resolves with its API and metrics URLs (and pid) from its "listening" log line. */
export function startRouter(
  config: string,
  workers: number,
  runtime: RouterRuntime = "dist",
  /** The checkout whose router runs (bench:ab's base); default this one. Its dist/ must be built. */
  root: string = ROOT,
): Promise<{ api: string; metrics: string; pid: number }> {
  if (runtime === "dist" && root === ROOT) assertBuilt();
  const args = [...routerEntry(runtime), "router", "--config", config, "--host", "127.0.0.1"];
  args.push("--port", "0", "--metrics-port", "0", "--workers", String(workers));
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (d: Buffer): void => {
      buf += d.toString();
      const line = buf.split("\n").find((l) => l.includes("Routewise router listening"));
      if (line === undefined) return;
      buf = "";
      child.stdout.off("data", onData);
      child.stdout.resume(); // keep draining the access log
      const { url, metricsUrl } = JSON.parse(line) as { url: string; metricsUrl: string };
      resolve({ api: url, metrics: metricsUrl, pid: child.pid ?? 0 });
    };
    child.stdout.on("data", onData);
    child.once("exit", (code) => reject(new Error(`router exited with ${code}`)));
  });
}

export function chatBody(n: number, prompt: (n: number) => string = uniquePrompt): string {
  return JSON.stringify({ model: "bench", max_tokens: 16, messages: [{ role: "user", content: prompt(n) }] });
}
