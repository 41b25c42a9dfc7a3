/**
 * Issue 15 #1: upstream API keys never leave the router. Upstreams that echo the request's headers (the key among
 * them) in every kind of error they can send, on every endpoint of the chat pipeline (chat completions, messages,
 * responses, legacy completions); the test greps every response body, header and trailer, every log line and
 * /metrics for the keys.
 */
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAnthropicMock } from "../mocks/anthropic-mock.js";
import { startOpenAIMock, type MockFaults, type MockHandle } from "../mocks/openai-mock.js";
import { captureLogs, providerYaml, routeYaml, secretYaml, startTestRouter, type TestRouter } from "./harness.js";

const KEYS = { oa: "sk-oa-LEAKME-0123456789abcdef", an: "sk-ant-LEAKME-0123456789abcdef" };
const POLICY = `  retry: { attempts: 1 }
  timeouts: { attempt: 5s, request: 10s }
  circuitBreaker: { consecutiveFailures: 1000, cooldown: 1s }`;

let oa: MockHandle;
let an: MockHandle;
let t: TestRouter;
const logs = captureLogs();

/** Everything a client and an operator could see of one request. */
const seen: string[] = [];

beforeAll(async () => {
  [oa, an] = await Promise.all([startOpenAIMock({ chunks: 4 }), startAnthropicMock({ chunks: 4 })]);
  const yaml = [
    providerYaml("oa", { url: oa.url, score: 80, price: [1, 2] }),
    providerYaml("an", { url: an.url, type: "anthropic", score: 70, price: [1, 2] }),
    secretYaml(KEYS),
    routeYaml("oa-only", `  candidates: [{ name: oa }]\n  baseline: { name: oa }\n${POLICY}`),
    routeYaml("an-only", `  candidates: [{ name: an }]\n  baseline: { name: an }\n${POLICY}`),
    routeYaml(
      "both",
      `  candidates: [{ name: oa }, { name: an }]\n  baseline: { name: oa }\n  rules: [{ name: all, match: {}, pin: [oa, an] }]\n${POLICY}`,
    ),
  ].join("");
  t = await startTestRouter({ yaml, logger: logs.logger });
});

afterAll(async () => {
  await t.stop();
  await Promise.all([oa.close(), an.close()]);
});

/** Every endpoint on the chat pipeline, each with its own error and stream-failure writer. */
const ENDPOINTS: [string, (model: string, stream: boolean) => Record<string, unknown>][] = [
  ["/v1/chat/completions", (model, stream) => ({ model, stream, messages: [{ role: "user", content: "hello" }] })],
  [
    "/v1/messages",
    (model, stream) => ({ model, stream, max_tokens: 64, messages: [{ role: "user", content: "hello" }] }),
  ],
  ["/v1/responses", (model, stream) => ({ model, stream, input: "hello" })],
  ["/v1/completions", (model, stream) => ({ model, stream, prompt: "hello" })],
];

async function send(path: string, payload: Record<string, unknown>): Promise<{ status: number; body: string }> {
  const res = await request(`${t.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  });
  const body = await res.body.text();
  seen.push(JSON.stringify(res.headers), JSON.stringify(res.trailers), body);
  return { status: res.statusCode, body };
}

// Every way an upstream can put text in front of the router, each echoing the request headers.
const FAULTS: [string, MockFaults][] = [
  ["a 401 JSON error", { status: 401 }],
  ["a 500 JSON error", { status: 500 }],
  ["a 400 rejection", { status: 400 }],
  ["an in-band error in a 200 body", { inBandError: true }],
  ["a 5xx error event before the first chunk", { errorEventAfterChunks: 0, errorEventStatus: 500 }],
  ["a 400 error event before the first chunk", { errorEventAfterChunks: 0, errorEventStatus: 400 }],
  ["an error event mid-stream", { errorEventAfterChunks: 3 }],
  ["a 400 error event mid-stream", { errorEventAfterChunks: 3, errorEventStatus: 400 }],
];

describe("router: upstream keys are redacted", () => {
  for (const [what, faults] of FAULTS) {
    for (const stream of [false, true]) {
      it(`never shows a key when an upstream echoes it in ${what} (${stream ? "stream" : "JSON"})`, async () => {
        oa.setFaults({ ...faults, echoHeaders: true });
        an.setFaults({ ...faults, echoHeaders: true });
        for (const [path, body] of ENDPOINTS)
          for (const model of ["oa-only", "an-only", "both"]) await send(path, body(model, stream));
        expect(oa.requests.at(-1)?.headers.authorization).toBe(`Bearer ${KEYS.oa}`);
        expect(an.requests.at(-1)?.headers["x-api-key"]).toBe(KEYS.an);
      });
    }
  }

  it("leaves no key in any response, log line or metric after every fault", async () => {
    seen.push(await (await fetch(`${t.metricsUrl}/metrics`)).text(), ...logs.lines);
    const everything = seen.join("\n");
    // The echoes did reach the router (redacted), so the greps below are not vacuous.
    expect(everything).toContain("request headers");
    expect(everything).toContain("[redacted]");
    expect(everything).toContain("routewise_requests_total"); // /metrics was read
    for (const key of Object.values(KEYS)) {
      expect(everything).not.toContain(key);
      expect(everything).not.toContain(key.slice(3, 20));
    }
  });
});
