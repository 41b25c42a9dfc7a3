/**
 * Router throughput with 1 vs N workers (issue 18; not a test): the same mock upstream, one router process with
 * --workers 1 and one with --workers N (default 2), closed-loop load at --concurrency for --seconds per round,
 * rounds interleaved so drift hits both alike. Prompts differ in words (no decision-cache hits). Prints JSON:
 * requests per second of each and the ratio N : 1. The load generator runs in this process, on the same machine.
 *
 *   npm run bench:workers [-- --workers 2 --seconds 10 --concurrency 32 --rounds 3 --runtime dist|tsx]
 */
import { parseArgs } from "node:util";
import { closedLoop } from "./lib/load.js";
import { children, parseRuntime, policyDir, startMock, startRouter } from "./lib/router-process.js";

const { values } = parseArgs({
  options: {
    help: { type: "boolean", default: false },
    workers: { type: "string", default: "2" },
    seconds: { type: "string", default: "10" },
    concurrency: { type: "string", default: "32" },
    rounds: { type: "string", default: "3" },
    /** dist (default: node on the compiled dist/, as production) or tsx (the sources). */
    runtime: { type: "string", default: "dist" },
  },
});
if (values.help) {
  process.stdout.write(
    "npm run bench:workers [-- --workers 2 --seconds 10 --concurrency 32 --rounds 3 --runtime dist|tsx]\n",
  );
  process.exit(0);
}

/** Requests per second of one closed-loop round; every request must succeed. */
async function requestsPerSecond(api: string, seconds: number, concurrency: number): Promise<number> {
  const { ok, failed } = await closedLoop(api, seconds, concurrency);
  if (failed > 0) throw new Error(`${failed} of ${ok + failed} requests to ${api} failed`);
  return ok / seconds;
}

async function main(): Promise<void> {
  const n = Number(values.workers);
  const seconds = Number(values.seconds);
  const concurrency = Number(values.concurrency);
  const upstream = await startMock();
  const config = policyDir(upstream);
  const runtime = parseRuntime(values.runtime);
  const routers = { one: await startRouter(config, 1, runtime), many: await startRouter(config, n, runtime) };
  // Warm-up: the JS evaluator and the sockets.
  await requestsPerSecond(routers.one.api, 2, concurrency);
  await requestsPerSecond(routers.many.api, 2, concurrency);
  const rps: { one: number[]; many: number[] } = { one: [], many: [] };
  for (let r = 0; r < Number(values.rounds); r++) {
    rps.one.push(await requestsPerSecond(routers.one.api, seconds, concurrency));
    rps.many.push(await requestsPerSecond(routers.many.api, seconds, concurrency));
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const round = (x: number): number => Math.round(x);
  console.log(
    JSON.stringify(
      {
        concurrency,
        seconds,
        rounds: rps.one.length,
        workers_1_rps: rps.one.map(round),
        [`workers_${n}_rps`]: rps.many.map(round),
        [`ratio_${n}_to_1`]: Math.round((median(rps.many) / median(rps.one)) * 100) / 100,
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
