/**
 * Explicit feedback (ADR 10): every answer carries an HMAC-signed token; POST /v1/feedback verifies it without any
 * server state, so two router processes started with the same --feedback-key-file accept each other's tokens.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import OpenAI from "openai";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signFeedbackToken } from "../../router/evaluation/feedback-token.js";
import { ClientAuth } from "../../router/http/auth.js";
import { ManagedProcess } from "../harness/process.js";
import { waitFor } from "../harness/wait.js";
import { startOpenAIMock, type OpenAIMockHandle } from "../mocks/openai-mock.js";
import {
  metricValue,
  mockProvider,
  route,
  routerConfig,
  startJsonRouter,
  writeMounted,
  type JsonRouter,
} from "./json-router.js";

const BIN = fileURLToPath(new URL("../../bin/routewise.js", import.meta.url));
const KEY = "feedback-key-shared-by-both-processes-0123456789";
const CREDENTIALS = { "default.cheap": "sk-fb-cheap-SECRET", "default.strong": "sk-fb-strong-SECRET" };

let cheap: OpenAIMockHandle;
let strong: OpenAIMockHandle;
let inProcess: JsonRouter;

function config() {
  const providers = [mockProvider("cheap", cheap.url, 60, [0.1, 0.2]), mockProvider("strong", strong.url, 90, [5, 15])];
  return routerConfig(providers, [route("chat", ["default/cheap", "default/strong"], "default/strong")]);
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await request(`${url}/v1/feedback`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: res.statusCode,
    json: (await res.body.json()) as Record<string, { code?: string; message?: string }>,
  };
}

beforeAll(async () => {
  [cheap, strong] = await Promise.all([startOpenAIMock(), startOpenAIMock()]);
  inProcess = await startJsonRouter(config(), CREDENTIALS, { feedbackKey: Buffer.from(KEY) });
});

afterAll(async () => {
  await inProcess.stop();
  await Promise.all([cheap.close(), strong.close()]);
});

describe("feedback: tokens on answers", () => {
  it("puts a token on a JSON answer that POST /v1/feedback records under its route and model", async () => {
    const { response } = await inProcess.client.chat.completions
      .create({ model: "chat", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    const token = response.headers.get("x-routewise-feedback-token");
    expect(token).toMatch(/^v1\./);
    const r = await post(inProcess.url, { token, score: 1 });
    expect(r).toEqual({ status: 200, json: { status: "recorded" } });
    await post(inProcess.url, { token, score: 0.25 });
    const labels = { route: "chat", model: "cheap-model" };
    expect(await metricValue(inProcess.router, "routewise_feedback_total", labels)).toBe(2);
    expect(await metricValue(inProcess.router, "routewise_feedback_score_total", labels)).toBe(1.25);
  });

  it("carries the token in a stream's final usage chunk and as its trailer", async () => {
    const res = await request(`${inProcess.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "chat",
        messages: [{ role: "user", content: "hi" }],
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    const body = await res.body.text();
    const events = body
      .split("\n\n")
      .map((b) => b.replace(/^data: /, ""))
      .filter((d) => d !== "" && d !== "[DONE]")
      .map((d) => JSON.parse(d) as { usage?: unknown; x_routewise?: { feedback_token?: string } });
    const usage = events.find((e) => e.usage);
    const token = usage?.x_routewise?.feedback_token;
    expect(token).toMatch(/^v1\./);
    expect(res.trailers["x-routewise-feedback-token"]).toBe(token);
    expect((await post(inProcess.url, { token, score: 0 })).status).toBe(200);
  });

  it("refuses a score outside [0,1] or not a number with a 400 naming the field", async () => {
    const { response } = await inProcess.client.chat.completions
      .create({ model: "chat", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    const token = response.headers.get("x-routewise-feedback-token");
    for (const score of [1.5, -0.1, true, "1", null]) {
      const r = await post(inProcess.url, { token, score });
      expect(r.status).toBe(400);
      expect(r.json["error"]).toMatchObject({ code: "invalid_score", param: "score" });
    }
  });

  it("refuses a token for a route this router does not serve", async () => {
    const token = signFeedbackToken(Buffer.from(KEY), { r: "gone", m: "x", d: "classifier", i: "1", e: 4e9 });
    const r = await post(inProcess.url, { token, score: 1 });
    expect(r.status).toBe(400);
    expect(r.json["error"]?.code).toBe("unknown_route");
  });

  it("requires a client API key when the router has API keys", async () => {
    const authed = await startJsonRouter(config(), CREDENTIALS, {
      feedbackKey: Buffer.from(KEY),
      auth: ClientAuth.fromDocument({ keys: [{ name: "team", key: "client-key", routes: ["chat"] }] }),
    });
    try {
      const { response } = await authed.client.chat.completions
        .create({ model: "chat", messages: [{ role: "user", content: "hi" }] })
        .withResponse();
      const token = response.headers.get("x-routewise-feedback-token");
      expect((await post(authed.url, { token, score: 1 })).status).toBe(401);
      const ok = await post(authed.url, { token, score: 1 }, { authorization: "Bearer client-key" });
      expect(ok.status).toBe(200);
    } finally {
      await authed.stop();
    }
  });
});

describe("feedback: across two router processes sharing --feedback-key-file", () => {
  const processes: ManagedProcess[] = [];
  const urls: { api: string; metrics: string }[] = [];

  beforeAll(async () => {
    const { dir, creds } = writeMounted(config(), CREDENTIALS);
    const work = mkdtempSync(join(tmpdir(), "routewise-feedback-"));
    const keyFile = join(work, "feedback-key");
    writeFileSync(keyFile, `${KEY}\n`);
    for (const n of [1, 2]) {
      const log = join(work, `router-${n}.log`);
      const args = [BIN, "router", "--config", dir, "--credentials", creds, "--feedback-key-file", keyFile];
      args.push("--host", "127.0.0.1", "--port", "0", "--metrics-port", "0");
      processes.push(ManagedProcess.start(`router-${n}`, process.execPath, args, log));
      const started = await waitFor(
        () => {
          const line = readFileSync(log, "utf8")
            .split("\n")
            .find((l) => l.includes("Routewise router listening"));
          return line === undefined ? null : (JSON.parse(line) as { url: string; metricsUrl: string });
        },
        30_000,
        { description: `router ${n} to listen` },
      );
      urls.push({ api: started.url, metrics: started.metricsUrl });
    }
  }, 90_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop(5_000)));
  });

  async function tokenFrom(api: string): Promise<string> {
    const client = new OpenAI({ baseURL: `${api}/v1`, apiKey: "client-key", maxRetries: 0 });
    const { response } = await client.chat.completions
      .create({ model: "chat", messages: [{ role: "user", content: "hello" }] })
      .withResponse();
    return response.headers.get("x-routewise-feedback-token") ?? "";
  }

  it("verifies on the second process a token the first one issued", async () => {
    const token = await tokenFrom(urls[0]!.api);
    const r = await post(urls[1]!.api, { token, score: 1 });
    expect(r).toEqual({ status: 200, json: { status: "recorded" } });
    const metrics = await request(`${urls[1]!.metrics}/metrics`).then((x) => x.body.text());
    expect(metrics).toMatch(/routewise_feedback_total\{route="chat",model="cheap-model"\} 1/);
  });

  it("refuses a tampered token with a 400 saying so", async () => {
    const [v, payload, sig] = (await tokenFrom(urls[0]!.api)).split(".");
    const decoded = JSON.parse(Buffer.from(payload!, "base64url").toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...decoded, m: "strong-model" })).toString("base64url");
    const r = await post(urls[1]!.api, { token: `${v}.${forged}.${sig}`, score: 1 });
    expect(r.status).toBe(400);
    expect(r.json["error"]).toMatchObject({ code: "invalid_feedback_token", param: "token" });
    expect(r.json["error"]?.message).toMatch(/signature/);
  });

  it("refuses a token signed with another key", async () => {
    const token = signFeedbackToken(Buffer.from("another-key"), {
      r: "chat",
      m: "cheap-model",
      d: "x",
      i: "1",
      e: 4e9,
    });
    const r = await post(urls[1]!.api, { token, score: 1 });
    expect(r.status).toBe(400);
    expect(r.json["error"]?.code).toBe("invalid_feedback_token");
  });

  it("refuses an expired token", async () => {
    const token = signFeedbackToken(Buffer.from(KEY), { r: "chat", m: "cheap-model", d: "x", i: "1", e: 1_000 });
    const r = await post(urls[0]!.api, { token, score: 1 });
    expect(r.status).toBe(400);
    expect(r.json["error"]).toMatchObject({
      code: "expired_feedback_token",
      message: "the feedback token has expired",
    });
  });
});
