/**
 * A paired A/B of two builds of the router (not a test): this checkout's dist/ against a base revision, both
 * routers on one mock upstream and loaded at the same time by one closed loop each, so whatever else the machine
 * does (a shared host's steal time, the other core's load) hits both alike. On a noisy 2-core VM one router's CPU
 * per request moves by ±30% from run to run, while the ratio of two routers measured side by side moves by ±3% a
 * round (ADR 5); the median of the rounds is what to read.
 *
 * The base is built into a temporary git worktree (`git worktree add --detach`, `tsc -p tsconfig.build.json`,
 * node_modules linked from this checkout) and removed afterwards; `--base-dir` names an already built checkout
 * instead. Prints JSON: per round each router's CPU ms per request and requests/s, and the medians of head / base.
 *
 *   npm run bench:ab -- --base REV [--base-dir DIR] [--rounds 7] [--seconds 6] [--concurrency 16] [--cached]
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { packageRoot } from "../router/config/package-root.js";
import { closedLoop } from "./lib/load.js";
import { treeCpuMs } from "./lib/proc-cpu.js";
import { cachedPrompt, uniquePrompt } from "./lib/prompts.js";
import { children, policyDir, startMock, startRouter } from "./lib/router-process.js";

const USAGE =
  "npm run bench:ab -- --base REV [--base-dir DIR] [--rounds 7] [--seconds 6] [--concurrency 16] [--cached]\n";

const { values } = parseArgs({
  options: {
    help: { type: "boolean", default: false },
    base: { type: "string" },
    "base-dir": { type: "string" },
    rounds: { type: "string", default: "7" },
    seconds: { type: "string", default: "6" },
    concurrency: { type: "string", default: "16" },
    /** Cycle a few fixed prompts (decision-cache hits) instead of prompts unique after normalisation. */
    cached: { type: "boolean", default: false },
  },
});
if (values.help || (values.base === undefined && values["base-dir"] === undefined)) {
  process.stdout.write(USAGE);
  process.exit(values.help ? 0 : 2);
}

const ROOT = packageRoot();

/** A built checkout of `rev` in a temporary worktree, and how to remove it. */
function buildBase(rev: string): { dir: string; remove: () => void } {
  const parent = mkdtempSync(join(tmpdir(), "routewise-ab-"));
  const dir = join(parent, "base");
  execFileSync("git", ["worktree", "add", "--detach", dir, rev], { cwd: ROOT, stdio: "inherit" });
  const remove = (): void => {
    execFileSync("git", ["worktree", "remove", "--force", dir], { cwd: ROOT, stdio: "ignore" });
    rmSync(parent, { recursive: true, force: true });
  };
  try {
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
    execFileSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
      cwd: dir,
      stdio: "inherit",
    });
  } catch (err) {
    remove();
    throw err;
  }
  return { dir, remove };
}

/** One closed loop for `seconds` (bench/lib/load.ts); every request must answer 200. */
async function load(api: string, seconds: number, concurrency: number): Promise<number> {
  const { ok, failed } = await closedLoop(api, seconds, concurrency, values.cached ? cachedPrompt : uniquePrompt);
  if (failed > 0) throw new Error(`${api} answered ${failed} request(s) with a status other than 200`);
  return ok;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const seconds = Number(values.seconds);
  const concurrency = Number(values.concurrency);
  const given = values["base-dir"];
  if (given !== undefined && !existsSync(join(given, "dist", "cli", "main.js")))
    throw new Error(`--base-dir ${given} has no dist/: build it first`);
  const base = given === undefined ? buildBase(values.base ?? "HEAD") : { dir: given, remove: () => undefined };
  try {
    const upstream = await startMock();
    const config = policyDir(upstream);
    const routers = [await startRouter(config, 1, "dist", base.dir), await startRouter(config, 1, "dist")];
    await Promise.all(routers.map((r) => load(r.api, 5, concurrency))); // warm-up: the JIT and the sockets
    const rounds: { base_cpu_ms: number; head_cpu_ms: number; base_rps: number; head_rps: number }[] = [];
    for (let k = 0; k < Number(values.rounds); k++) {
      const before = routers.map((r) => treeCpuMs(r.pid));
      const done = await Promise.all(routers.map((r) => load(r.api, seconds, concurrency)));
      const cpu = routers.map((r, i) => (treeCpuMs(r.pid) - (before[i] ?? 0)) / (done[i] ?? 1));
      const [baseCpu = 0, headCpu = 0] = cpu;
      const [baseDone = 0, headDone = 0] = done;
      rounds.push({
        base_cpu_ms: r3(baseCpu),
        head_cpu_ms: r3(headCpu),
        base_rps: Math.round(baseDone / seconds),
        head_rps: Math.round(headDone / seconds),
      });
    }
    const result = {
      base: values.base ?? given,
      cached: values.cached,
      concurrency_each: concurrency,
      seconds,
      rounds,
      median_cpu_ratio_head_to_base: r3(median(rounds.map((r) => r.head_cpu_ms / r.base_cpu_ms))),
      median_rps_ratio_head_to_base: r3(median(rounds.map((r) => r.head_rps / r.base_rps))),
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    for (const c of children) c.kill("SIGTERM");
    base.remove();
  }
}

await main();
