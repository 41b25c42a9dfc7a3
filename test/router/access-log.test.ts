/**
 * The access log (issue 16): exactly one structured line per chat completion request, served or not — with the
 * request id, the client key's name (never the key), decision, attempts, tokens and costs — and the same lines to
 * the request-log sink. Prompts, answers and keys never appear.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientAuth } from "../../router/http/auth.js";
import { startOpenAIMock, type OpenAIMockHandle } from "../mocks/openai-mock.js";
import { captureLogs } from "./harness.js";
import { mockProvider, route, routerConfig, startJsonRouter, type JsonRouter } from "./json-router.js";

const UPSTREAM_KEY = "sk-upstream-ACCESS-SECRET-777";
const CLIENT_KEY = "rw-client-ACCESS-SECRET-888";
const PROMPT = "a very private prompt about quarterly numbers";

let upstream: OpenAIMockHandle;
let t: JsonRouter;
const logs = captureLogs();
const sink: Record<string, unknown>[] = [];

beforeAll(async () => {
  upstream = await startOpenAIMock();
  const providers = [mockProvider("up", upstream.url, 80, [1, 2])];
  const auth = ClientAuth.fromDocument({ keys: [{ name: "team-a-bot", key: CLIENT_KEY, routes: ["*"] }] });
  t = await startJsonRouter(
    routerConfig(providers, [route("chat", ["default/up"], "default/up")]),
    { "default.up": UPSTREAM_KEY },
    {
      logger: logs.logger,
      auth,
      requestLog: (line) => sink.push(line),
    },
  );
});

afterAll(async () => {
  await t.stop();
  await upstream.close();
});

async function post(requestId: string, headers: Record<string, string> = { authorization: `Bearer ${CLIENT_KEY}` }) {
  return fetch(`${t.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": requestId, ...headers },
    body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: PROMPT }] }),
  });
}

/** The access-log lines (pino JSON) of one request id. */
function linesOf(requestId: string): Record<string, unknown>[] {
  return logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l["requestId"] === requestId);
}

describe("access log", () => {
  it("writes one line for a served request, with the key's name, decision, attempts, tokens and costs", async () => {
    const res = await post("acc-ok-1");
    expect(res.status).toBe(200);
    await res.text();
    const lines = linesOf("acc-ok-1");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: "Served chat completion",
      clientKey: "team-a-bot",
      route: "chat",
      provider: "default/up",
      decided: "default/up",
      status: 200,
      outcome: "success",
      attempts: [{ provider: "default/up", outcome: "success" }],
    });
    const tokens = lines[0]?.["tokens"] as { input: number; output: number } | undefined;
    expect(tokens?.input).toBeGreaterThan(0);
    expect(tokens?.output).toBeGreaterThan(0);
    expect(lines[0]?.["costUsd"]).toBeGreaterThan(0);
    expect(lines[0]?.["baselineCostUsd"]).toBeGreaterThan(0);
  });

  it("writes exactly one line for a 502 and one for a 401, each with its request id", async () => {
    upstream.setFaults({ status: 500 });
    try {
      expect((await post("acc-502")).status).toBe(502);
    } finally {
      upstream.setFaults(null);
    }
    expect((await post("acc-401", {})).status).toBe(401);
    const failed = linesOf("acc-502");
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      msg: "Refused chat completion",
      status: 502,
      clientKey: "team-a-bot",
      route: "chat",
    });
    expect((failed[0]?.["attempts"] as unknown[]).length).toBeGreaterThan(0);
    const unauthorised = linesOf("acc-401");
    expect(unauthorised).toHaveLength(1);
    expect(unauthorised[0]).toMatchObject({ msg: "Refused chat completion", status: 401 });
  });

  it("logs a body refused before routing (malformed JSON) once too", async () => {
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "acc-400" },
      body: "{not json",
    });
    expect(res.status).toBe(400);
    expect(linesOf("acc-400")).toHaveLength(1);
  });

  it("sends the same lines to the request-log sink, and never a key or the prompt anywhere", () => {
    for (const id of ["acc-ok-1", "acc-502", "acc-401", "acc-400"])
      expect(
        sink.filter((l) => l["requestId"] === id),
        id,
      ).toHaveLength(1);
    const everything = JSON.stringify(sink) + logs.lines.join("\n");
    for (const secret of [UPSTREAM_KEY, CLIENT_KEY, PROMPT]) expect(everything).not.toContain(secret);
  });
});

describe("trace context upstream", () => {
  it("forwards x-request-id and a well-formed traceparent/tracestate to the upstream, and drops a malformed one", async () => {
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    await (
      await post("trace-1", { authorization: `Bearer ${CLIENT_KEY}`, traceparent, tracestate: "rojo=00f067aa0ba902b7" })
    ).text();
    const seen = upstream.requests[upstream.requests.length - 1]?.headers ?? {};
    expect(seen).toMatchObject({ "x-request-id": "trace-1", traceparent, tracestate: "rojo=00f067aa0ba902b7" });
    await (await post("trace-2", { authorization: `Bearer ${CLIENT_KEY}`, traceparent: "not-a-trace" })).text();
    const second = upstream.requests[upstream.requests.length - 1]?.headers ?? {};
    expect(second["x-request-id"]).toBe("trace-2");
    expect(second).not.toHaveProperty("traceparent");
  });
});

describe("access log: other endpoints", () => {
  it("names the endpoint of a /v1/responses request and of a body refused before it", async () => {
    const ok = await fetch(`${t.url}/v1/responses`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-request-id": "acc-resp",
        authorization: `Bearer ${CLIENT_KEY}`,
      },
      body: JSON.stringify({ model: "chat", input: "hello" }),
    });
    expect(ok.status).toBe(200);
    await ok.text();
    expect(linesOf("acc-resp")).toEqual([expect.objectContaining({ msg: "Served response", endpoint: "responses" })]);
    const bad = await fetch(`${t.url}/v1/responses`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "acc-resp-400" },
      body: "{nope",
    });
    expect(bad.status).toBe(400);
    expect(linesOf("acc-resp-400")).toEqual([
      expect.objectContaining({ msg: "Refused response", endpoint: "responses" }),
    ]);
  });
});
