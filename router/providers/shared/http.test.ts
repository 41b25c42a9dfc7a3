import { Agent, EnvHttpProxyAgent } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { createHttpClient } from "./http.js";

const PROXY_VARIABLES = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"] as const;
const saved = Object.fromEntries(PROXY_VARIABLES.map((n) => [n, process.env[n]]));

afterEach(() => {
  for (const n of PROXY_VARIABLES) {
    const v = saved[n];
    if (v === undefined) Reflect.deleteProperty(process.env, n);
    else process.env[n] = v;
  }
});

const provider = () => ({ timeouts: { connectMs: 1_000, requestMs: 1_000 } });

describe("createHttpClient().dispatcherFor", () => {
  it("goes direct with a plain Agent when no proxy variable is set, and through the environment's when one is", async () => {
    for (const n of PROXY_VARIABLES) Reflect.deleteProperty(process.env, n);
    const direct = createHttpClient();
    const agent = direct.dispatcherFor(provider());
    expect(agent).toBeInstanceOf(Agent);
    expect(agent).not.toBeInstanceOf(EnvHttpProxyAgent);
    process.env["https_proxy"] = "http://127.0.0.1:9";
    const proxied = createHttpClient();
    expect(proxied.dispatcherFor(provider())).toBeInstanceOf(EnvHttpProxyAgent);
    await Promise.all([direct.close(), proxied.close()]);
  });

  it("returns one dispatcher per provider object and CA bundle, shared by equal settings", async () => {
    const http = createHttpClient();
    const a = provider();
    const first = http.dispatcherFor(a);
    expect(http.dispatcherFor(a)).toBe(first);
    // A reloaded config's new object with the same settings keeps the pooled sockets.
    expect(http.dispatcherFor(provider())).toBe(first);
    expect(http.dispatcherFor(a, "-----BEGIN CERTIFICATE-----")).not.toBe(first);
    expect(http.dispatcherFor({ timeouts: { connectMs: 2_000, requestMs: 1_000 } })).not.toBe(first);
    await http.close();
  });
});
