import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { jsonAccessLog } from "./access-log.js";

const TIME = 1_796_000_000_123;

/** What pino writes for info(fields, msg) with this base, at a fixed time. */
function pinoLine(base: Record<string, unknown>, fields: Record<string, unknown>, msg: string): string {
  const lines: string[] = [];
  const logger = pino({ base, level: "info", timestamp: () => `,"time":${TIME}` }, { write: (s) => lines.push(s) });
  logger.info(fields, msg);
  return lines.join("");
}

function fastLine(base: Record<string, unknown>, fields: Record<string, unknown>, msg: string): string {
  const lines: string[] = [];
  const log = jsonAccessLog({ base, enabled: true, out: { write: (s) => lines.push(s) }, now: () => TIME });
  log.info(fields, msg);
  return lines.join("");
}

/** A served request's line as the request record builds it. */
const served = {
  requestId: "chatcmpl-9f8a7c6e-1b2d-4e3f-8a9b-0c1d2e3f4a5b",
  clientKey: "team-a/ci",
  route: "assistant",
  provider: "mini",
  model: "gpt-4o-mini",
  decision: "cheapest candidate meeting quality 70 (predicted 78)",
  decided: "mini",
  propensity: 1,
  outcome: "success",
  status: 200,
  fallbacks: 0,
  tokens: { input: 42, cachedInput: 0, output: 17 },
  costUsd: 0.0000165,
  baselineCostUsd: 0.00031,
  classification: { task: "qa", domain: "general", difficulty: 0.31, confidence: 0.82, source: "builtin-onnx" },
  promptTokens: 42,
  attempts: [{ provider: "mini", outcome: "success", ms: 1.2 }],
  durationMs: 3,
};

describe("jsonAccessLog", () => {
  it("writes the line pino writes, byte for byte", () => {
    const base = { component: "router", pid: 4242, worker: 2 };
    expect(fastLine(base, served, "Served chat completion")).toBe(pinoLine(base, served, "Served chat completion"));
  });

  it("matches pino on escapes, non-ASCII, undefined fields, non-finite numbers and empty objects", () => {
    const fields = {
      route: 'say "hi"\\ \n\t\u0001',
      decision: "Übersetzung — 翻訳 🚀",
      segment: undefined,
      costUsd: Number.NaN,
      baselineCostUsd: Number.POSITIVE_INFINITY,
      empty: {},
      list: [],
    };
    const base = { component: "router", worker: undefined };
    expect(fastLine(base, fields, 'Refused "chat" completion')).toBe(
      pinoLine(base, fields, 'Refused "chat" completion'),
    );
    expect(fastLine({}, {}, "m")).toBe(pinoLine({}, {}, "m"));
  });

  it("writes nothing, and says so, when info is off", () => {
    const lines: string[] = [];
    const log = jsonAccessLog({ base: {}, enabled: false, out: { write: (s) => lines.push(s) } });
    log.info(served, "Served chat completion");
    expect(log.isLevelEnabled("info")).toBe(false);
    expect(lines).toEqual([]);
  });

  it("is one line per call, each a JSON object ending in a newline", () => {
    const lines: string[] = [];
    const log = jsonAccessLog({ base: { component: "router" }, enabled: true, out: { write: (s) => lines.push(s) } });
    log.info(served, "Served chat completion");
    log.info({ outcome: "unauthorized", status: 401 }, "Refused chat completion");
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l.endsWith("}\n") && !l.slice(0, -1).includes("\n")).toBe(true);
    expect(JSON.parse(lines[1] ?? "")).toMatchObject({ level: 30, component: "router", status: 401 });
  });
});
