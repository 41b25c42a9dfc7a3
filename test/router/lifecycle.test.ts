import OpenAI from "openai";
import { Pool } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startOpenAIMock, type MockHandle } from "../mocks/openai-mock.js";
import { providerYaml, routeYaml, secretYaml, startTestRouter, type TestRouter } from "./harness.js";

let a: MockHandle;
let b: MockHandle;
let t: TestRouter | null = null;

const easy = [{ role: "user" as const, content: "hello there" }];

function policy(route = "chat", extra = ""): string {
  return [
    providerYaml("a", { url: a.url, score: 60, price: [0.1, 0.2], extra: "  contextWindow: 50" }).replace(
      "  contextWindow: 100000\n",
      "",
    ),
    providerYaml("b", { url: b.url, score: 90, price: [5, 15] }),
    secretYaml({ a: "key-a", b: "key-b" }),
    routeYaml(
      route,
      `  candidates: [{ name: a }, { name: b }]\n  baseline: { name: b }\n  objective: { minQualityRetention: 0.5 }\n${extra}`,
    ),
  ].join("");
}

beforeEach(async () => {
  [a, b] = await Promise.all([startOpenAIMock(), startOpenAIMock()]);
});

afterEach(async () => {
  await t?.stop();
  t = null;
  await Promise.all([a.close(), b.close()]);
});

async function metric(name: string): Promise<string> {
  const text = await (await fetch(`${t!.metricsUrl}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith(name))
    .join("\n");
}

describe("router: capability filters", () => {
  it("sends a prompt too long for the cheap model's context window to a larger-window candidate", async () => {
    t = await startTestRouter({ yaml: policy() });
    const short = await t.client.chat.completions.create({ model: "chat", messages: easy }).withResponse();
    expect(short.response.headers.get("x-routewise-provider")).toBe("default/a");
    const long = await t.client.chat.completions
      .create({ model: "chat", messages: [{ role: "user", content: "word ".repeat(100) }] })
      .withResponse();
    expect(long.response.headers.get("x-routewise-provider")).toBe("default/b");
  });
});

describe("router: client auth", () => {
  const apiKeys = {
    keys: [
      { name: "team-a", key: "team-a-key", routes: ["chat"] },
      { name: "ops", key: "ops-key", routes: ["other"] },
    ],
  };

  it("answers 401 without a key and with an unknown key", async () => {
    t = await startTestRouter({ yaml: policy(), apiKeys });
    const none = await fetch(`${t.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "chat", messages: easy }),
    });
    expect(none.status).toBe(401);
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "wrong", maxRetries: 0 });
    await expect(client.chat.completions.create({ model: "chat", messages: easy })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
  });

  it("answers 403 when the key may not use the route, and serves it when it may", async () => {
    t = await startTestRouter({ yaml: policy(), apiKeys });
    const ops = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "ops-key", maxRetries: 0 });
    await expect(ops.chat.completions.create({ model: "chat", messages: easy })).rejects.toBeInstanceOf(
      OpenAI.PermissionDeniedError,
    );
    const team = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: "team-a-key", maxRetries: 0 });
    expect((await team.chat.completions.create({ model: "chat", messages: easy })).choices).toHaveLength(1);
    expect((await ops.models.list()).data).toEqual([]);
  });

  it("serves /metrics only on the metrics port when client API keys are configured", async () => {
    t = await startTestRouter({ yaml: policy(), apiKeys });
    expect(new URL(t.metricsUrl).port).not.toBe(new URL(t.url).port);
    for (const headers of [{}, { authorization: "Bearer team-a-key" }]) {
      const api = await fetch(`${t.url}/metrics`, { headers });
      expect(api.status).toBe(404);
      expect(await api.json()).toMatchObject({ error: { type: "invalid_request_error", code: "unknown_url" } });
    }
    const scrape = await fetch(`${t.metricsUrl}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await scrape.text()).toContain('routewise_config_reloads_total{outcome="success"} 1');
    expect((await fetch(`${t.metricsUrl}/healthz`)).status).toBe(200);
  });

  it("serves no API on the metrics port", async () => {
    t = await startTestRouter({ yaml: policy(), apiKeys });
    const chat = await fetch(`${t.metricsUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer team-a-key", "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", messages: easy }),
    });
    expect(chat.status).toBe(404);
    expect((await fetch(`${t.metricsUrl}/v1/models`)).status).toBe(404);
    expect(a.requests).toHaveLength(0);
  });
});

describe("router: hot reload", () => {
  it("serves a new route after the policy file changes", async () => {
    t = await startTestRouter({ yaml: policy() });
    await t.rewrite(policy("renamed"));
    expect((await t.client.chat.completions.create({ model: "renamed", messages: easy })).choices).toHaveLength(1);
    await expect(t.client.chat.completions.create({ model: "chat", messages: easy })).rejects.toBeInstanceOf(
      OpenAI.NotFoundError,
    );
    expect(await metric("routewise_config_reloads_total")).toContain('outcome="success"} 2');
  });

  it("keeps the last good config when the new one is invalid, and counts the rejection", async () => {
    t = await startTestRouter({ yaml: policy() });
    const before = t.router.state.current?.config.hash;
    await t.rewrite(policy().replace("score: 60", "score: 600"));
    expect(t.router.state.current?.config.hash).toBe(before);
    expect((await t.client.chat.completions.create({ model: "chat", messages: easy })).choices).toHaveLength(1);
    expect(await metric("routewise_config_reloads_total")).toContain('outcome="invalid"} 1');
  });

  it("logs and counts a rejected config once while the same bad content stays in place (issue 16)", async () => {
    t = await startTestRouter({ yaml: policy() });
    const bad = policy().replace("score: 60", "score: 600");
    await t.rewrite(bad);
    for (let i = 0; i < 5; i++) await t.router.reloader.reload(); // what the 5 s poll does
    expect(await metric("routewise_config_reloads_total")).toContain('outcome="invalid"} 1');
    await t.rewrite(bad.replace("score: 600", "score: -1")); // another refusal
    expect(await metric("routewise_config_reloads_total")).toContain('outcome="invalid"} 2');
    await t.rewrite(policy("fixed"));
    await t.rewrite(bad);
    expect(await metric("routewise_config_reloads_total")).toContain('outcome="invalid"} 3');
  });

  it("keeps the last good config when the policy file is emptied, deleted or truncated (issue 15 #4)", async () => {
    // Standalone YAML used to hot-load these as "no routes": every request got 404 during a rewrite.
    t = await startTestRouter({ yaml: policy() });
    const before = t.router.state.current?.config.hash;
    const { unlinkSync } = await import("node:fs");
    const providersOnly = policy().slice(0, policy().indexOf("kind: ModelRoute"));
    const attempts: [string, () => Promise<void>][] = [
      ["emptied", () => t!.rewrite("")],
      ["truncated to its providers", () => t!.rewrite(providersOnly.slice(0, providersOnly.lastIndexOf("---")))],
      ["truncated mid-document", () => t!.rewrite(policy().slice(0, policy().length - 40))],
      [
        "deleted",
        async () => {
          unlinkSync(`${t!.dir}/policy.yaml`);
          await t!.router.reloader.reload();
        },
      ],
    ];
    for (const [what, attempt] of attempts) {
      await attempt();
      expect(t.router.state.current?.config.hash, what).toBe(before);
      const r = await t.client.chat.completions.create({ model: "chat", messages: easy });
      expect(r.choices, what).toHaveLength(1);
    }
    expect(await metric("routewise_config_reloads_total")).toContain('outcome="invalid"} 4');
  });

  it("picks up a change through the file watcher without an explicit reload", async () => {
    t = await startTestRouter({ yaml: policy() });
    const { writeFileSync } = await import("node:fs");
    writeFileSync(`${t.dir}/policy.yaml`, policy("watched"));
    const deadline = Date.now() + 5_000;
    while (!t.router.state.current?.routes.has("watched") && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(t.router.state.current?.routes.has("watched")).toBe(true);
  });

  it("does not drop requests in flight during a reload", async () => {
    a.setFaults({ delayHeadersMs: 300 });
    t = await startTestRouter({ yaml: policy() });
    const inflight = t.client.chat.completions.create({ model: "chat", messages: easy });
    await new Promise((r) => setTimeout(r, 50));
    await t.rewrite(policy("renamed"));
    expect((await inflight).choices).toHaveLength(1);
  });
});

describe("router: circuit breaker", () => {
  it("skips a provider whose circuit is open and answers 503 when nothing else is left", async () => {
    const extra =
      "  fallback: { enabled: false }\n  retry: { attempts: 1 }\n  circuitBreaker: { consecutiveFailures: 2, cooldown: 10s }\n  rules: [{ name: only-a, match: {}, pin: [a] }]\n";
    t = await startTestRouter({ yaml: policy("chat", extra) });
    a.setFaults({ status: 500 });
    for (let i = 0; i < 2; i++)
      await t.client.chat.completions.create({ model: "chat", messages: easy }).catch(() => undefined);
    expect(a.requests).toHaveLength(2);
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "chat", messages: easy }),
    });
    expect(res.status).toBe(503);
    expect(a.requests).toHaveLength(2);
    expect(await metric("routewise_circuit_open")).toContain('provider="default/a"} 1');
  });

  it("lets one probe through after the cooldown and closes on success", async () => {
    const extra =
      "  fallback: { enabled: false }\n  retry: { attempts: 1 }\n  circuitBreaker: { consecutiveFailures: 1, cooldown: 200ms }\n  rules: [{ name: only-a, match: {}, pin: [a] }]\n";
    t = await startTestRouter({ yaml: policy("chat", extra) });
    a.setFaults({ status: 500, times: 1 });
    await t.client.chat.completions.create({ model: "chat", messages: easy }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    expect((await t.client.chat.completions.create({ model: "chat", messages: easy })).choices).toHaveLength(1);
    expect(await metric("routewise_circuit_open")).toContain('provider="default/a"} 0');
  });
});

describe("router: circuit breaker window (issue 15)", () => {
  it("does not open on failures further apart than the window", async () => {
    const extra =
      "  fallback: { enabled: false }\n  retry: { attempts: 1 }\n  circuitBreaker: { consecutiveFailures: 2, cooldown: 60s, window: 200ms }\n  rules: [{ name: only-a, match: {}, pin: [a] }]\n";
    t = await startTestRouter({ yaml: policy("chat", extra) });
    a.setFaults({ status: 500, times: 1 });
    await t.client.chat.completions.create({ model: "chat", messages: easy }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500));
    a.setFaults({ status: 500, times: 1 });
    await t.client.chat.completions.create({ model: "chat", messages: easy }).catch(() => undefined);
    expect(await metric("routewise_circuit_open")).toContain('provider="default/a"} 0');
    expect((await t.client.chat.completions.create({ model: "chat", messages: easy })).choices).toHaveLength(1);
  });
});

describe("router: circuit breaker probes (issue 15 #2)", () => {
  const extra =
    "  fallback: { enabled: false }\n  retry: { attempts: 1 }\n  circuitBreaker: { consecutiveFailures: 1, cooldown: 200ms }\n  rules: [{ name: only-a, match: {}, pin: [a] }]\n";

  async function openThenCool(): Promise<void> {
    a.setFaults({ status: 500, times: 1 });
    await t!.client.chat.completions.create({ model: "chat", messages: easy }).catch(() => undefined);
    expect(await metric("routewise_circuit_open")).toContain('provider="default/a"} 1');
    await new Promise((r) => setTimeout(r, 300));
  }

  it("serves again after a half-open probe the upstream rejected with a 400", async () => {
    t = await startTestRouter({ yaml: policy("chat", extra) });
    await openThenCool();
    a.setFaults({ status: 400, times: 1 });
    await expect(t.client.chat.completions.create({ model: "chat", messages: easy })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    );
    expect((await t.client.chat.completions.create({ model: "chat", messages: easy })).choices).toHaveLength(1);
    expect(a.requests).toHaveLength(3);
  });

  it("serves again after the client of a half-open probe went away", async () => {
    t = await startTestRouter({ yaml: policy("chat", extra) });
    await openThenCool();
    a.setFaults({ hang: true, times: 1 });
    const controller = new AbortController();
    const probe = t.client.chat.completions.create({ model: "chat", messages: easy }, { signal: controller.signal });
    while (a.requests.length < 2) await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    await expect(probe).rejects.toThrow();
    const deadline = Date.now() + 5_000;
    while ((await metric("routewise_inflight_requests")).endsWith(" 1") && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect((await t.client.chat.completions.create({ model: "chat", messages: easy })).choices).toHaveLength(1);
  });

  it("serves again after the route's total timeout ended a half-open probe", async () => {
    t = await startTestRouter({ yaml: policy("chat", `${extra}  timeouts: { attempt: 10s, request: 300ms }\n`) });
    await openThenCool();
    a.setFaults({ hang: true, times: 1 });
    const probe = await fetch(`${t.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "chat", messages: easy }),
    });
    expect(probe.status).toBe(504);
    expect(a.requests).toHaveLength(2);
    const deadline = Date.now() + 5_000;
    while ((await metric("routewise_inflight_requests")).endsWith(" 1") && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect((await t.client.chat.completions.create({ model: "chat", messages: easy })).choices).toHaveLength(1);
    expect(a.requests).toHaveLength(3);
  });
});

describe("router: graceful shutdown", () => {
  it("finishes in-flight requests, then stops accepting", async () => {
    a.setFaults({ delayHeadersMs: 400 });
    t = await startTestRouter({ yaml: policy() });
    const url = t.url;
    const inflight = t.client.chat.completions.create({ model: "chat", messages: easy });
    await new Promise((r) => setTimeout(r, 100));
    const stopped = t.stop();
    t = null;
    expect((await inflight).choices).toHaveLength(1);
    await stopped;
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it("closes kept-alive connections and refuses new requests on them once draining (issue 15 #5)", async () => {
    a.setFaults({ delayHeadersMs: 300 });
    // Far beyond the test's timeout: a stop that waited for the drain timeout (the old behaviour) fails the test.
    t = await startTestRouter({ yaml: policy(), drainTimeoutMs: 600_000 });
    // One kept-alive connection: the second request waits for it behind the first.
    const pool = new Pool(t.url, { connections: 1, pipelining: 1 });
    const send = () =>
      pool.request({
        path: "/v1/chat/completions",
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "chat", messages: easy }),
      });
    try {
      const first = send();
      while (a.requests.length < 1) await new Promise((r) => setTimeout(r, 10));
      const stopped = t.stop();
      t = null;
      const second = send().then(
        async (r) => ({ status: r.statusCode, connection: r.headers["connection"], body: await r.body.text() }),
        (err: unknown) => ({ status: 0, connection: "refused", body: String(err) }),
      );
      const answered = await first;
      expect(answered.statusCode).toBe(200);
      expect(answered.headers["connection"]).toBe("close");
      expect(JSON.parse(await answered.body.text())).toMatchObject({ object: "chat.completion" });
      const refused = await second;
      expect(refused.status === 0 || refused.status === 503).toBe(true);
      if (refused.status === 503) expect(refused.body).toContain('"code":"shutting_down"');
      expect(a.requests).toHaveLength(1);
      await stopped;
    } finally {
      await pool.close();
    }
  });

  it("reports not ready while draining", async () => {
    a.setFaults({ delayHeadersMs: 400 });
    t = await startTestRouter({ yaml: policy() });
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
    const inflight = t.client.chat.completions.create({ model: "chat", messages: easy });
    await new Promise((r) => setTimeout(r, 100));
    const stopped = t.stop();
    await inflight;
    await stopped;
    t = null;
  });
});

describe("router: failure isolation", () => {
  it("answers 503 route_unavailable for a route whose custom classifier does not load, while another route serves", async () => {
    const broken = routeYaml(
      "custom",
      "  candidates: [{ name: a }, { name: b }]\n  baseline: { name: b }\n  classifier: { type: custom, custom: { modelPath: /nonexistent/model-dir } }\n",
    );
    t = await startTestRouter({ yaml: policy() + broken });
    const ok = await t.client.chat.completions.create({ model: "chat", messages: easy }).withResponse();
    expect(ok.response.status).toBe(200);
    const res = await fetch(`${t.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "custom", messages: easy }),
    });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string; type: string } };
    expect(body.error.code).toBe("route_unavailable");
    expect(body.error.type).toBe("api_error");
    expect(body.error.message).toContain("/nonexistent/model-dir");
    expect(await metric("routewise_route_available")).toContain('routewise_route_available{route="custom"} 0');
    expect(await metric("routewise_route_available")).toContain('routewise_route_available{route="chat"} 1');
  });

  it("serves the route again once a config no longer needs the broken classifier", async () => {
    const broken = (classifier: string) =>
      routeYaml("custom", `  candidates: [{ name: a }, { name: b }]\n  baseline: { name: b }\n${classifier}`);
    t = await startTestRouter({
      yaml: policy() + broken("  classifier: { type: custom, custom: { modelPath: /nonexistent } }\n"),
    });
    await t.rewrite(policy() + broken(""));
    const res = await t.client.chat.completions.create({ model: "custom", messages: easy }).withResponse();
    expect(res.response.status).toBe(200);
    expect(await metric("routewise_route_available")).toContain('routewise_route_available{route="custom"} 1');
  });
});
