/**
 * Child process of bench/faults.ts: three mock upstreams on 127.0.0.1 — p1 (OpenAI-compatible) and p2 (Anthropic)
 * failing a seeded share of requests with every fault the mocks know, p3 (OpenAI-compatible) healthy. Prints one
 * JSON line with their ports. Reads "faults on" / "faults off" lines on stdin (the baseline phase runs without) and
 * "stats" (answers with how many of each fault it injected).
 *
 *   node --import tsx bench/lib/fault-upstreams.ts <seed> <p1 fault share> <p2 fault share>
 */
import { createInterface } from "node:readline";
import { startAnthropicMock } from "../../test/mocks/anthropic-mock.js";
import type { MockFaults } from "../../test/mocks/mock-server.js";
import { startOpenAIMock } from "../../test/mocks/openai-mock.js";
import { rng } from "../../router/prng.js";

/**
 * One entry per fault; each sets its streaming and its non-streaming form (a mock ignores the other one), so a
 * stream gets a cut where a JSON answer gets a cut body, and so on.
 */
export const FAULTS: [string, MockFaults][] = [
  ["429 with retry-after", { status: 429, retryAfter: "1" }],
  ["429 without retry-after", { status: 429 }],
  ["500 echoing headers", { status: 500, echoHeaders: true }],
  ["503", { status: 503 }],
  ["reset before headers", { resetBeforeHeaders: true }],
  ["reset after headers", { resetAfterHeaders: true }],
  ["hang", { hang: true }],
  ["malformed JSON / malformed events", { malformedJson: true, malformedEventsAt: [1, 2, 3] }],
  ["in-band error / error event", { inBandError: true, errorEventAfterChunks: 2, echoHeaders: true }],
  ["slow first byte", { firstByteDelayMs: 2_000 }],
  ["unfinished answer / stall", { omitFinishReason: true, stallAfterChunks: 3 }],
  ["cut body / cut stream", { cutBody: true, cutAfterChunks: 3 }],
  ["slow first token", { firstContentDelayMs: 2_000 }],
];

const [seed = "1", p1Share = "0.4", p2Share = "0.3"] = process.argv.slice(2);
let on = true;
const injected: Record<string, number> = {};

function faulty(s: number, share: number): (n: number) => MockFaults | null {
  const random = rng(s);
  return () => {
    const roll = random();
    const fault = FAULTS[Math.floor(random() * FAULTS.length)];
    if (!on || roll >= share || fault === undefined) return null;
    injected[fault[0]] = (injected[fault[0]] ?? 0) + 1;
    return fault[1];
  };
}

const behaviour = { chunks: 6 };
const [p1, p2, p3] = await Promise.all([
  startOpenAIMock(behaviour),
  startAnthropicMock(behaviour),
  startOpenAIMock(behaviour),
]);
const mocks = [p1, p2, p3];
p1.setFaults(faulty(Number(seed), Number(p1Share)));
p2.setFaults(faulty(Number(seed) + 1, Number(p2Share)));
// The benchmark does not read recorded requests: keep memory flat.
setInterval(() => {
  for (const m of mocks) m.requests.length = 0;
}, 1_000).unref();

createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim() === "stats") {
    process.stdout.write(`${JSON.stringify({ injected })}\n`);
    return;
  }
  on = line.trim() === "faults on";
  process.stdout.write(`${JSON.stringify({ faults: on })}\n`);
});
process.stdout.write(`${JSON.stringify({ ports: mocks.map((m) => m.port) })}\n`);
process.on("SIGTERM", () => void Promise.all(mocks.map((m) => m.close())).then(() => process.exit(0)));
