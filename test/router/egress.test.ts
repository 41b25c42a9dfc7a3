/**
 * Egress (issue 16): a real forward proxy (an HTTP CONNECT tunnel written here, loopback only) and an HTTPS
 * upstream whose certificate is signed by a test CA made with openssl. The router honours HTTPS_PROXY / NO_PROXY
 * from its environment, a provider's own proxy URL, a provider that must connect directly, and a provider's extra
 * CA bundle (from the credentials directory) — and refuses the upstream without it.
 *
 * undici reads the proxy variables when a dispatcher is made, so each environment gets its own router, started
 * after the variables are set (this file's worker only).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { EgressConfig, ProviderConfig } from "../../router/config/types.js";
import { startOpenAIMock, type OpenAIMockHandle } from "../mocks/openai-mock.js";
import { mockProvider, route, routerConfig, startJsonRouter, type JsonRouter } from "./json-router.js";

const KEY = "sk-egress-SECRET-555";

interface Pki {
  ca: string;
  key: string;
  cert: string;
}

/** A throwaway CA and a certificate for 127.0.0.1 signed by it (EC keys: fast to make). */
function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), "routewise-pki-"));
  const f = (name: string) => join(dir, name);
  const run = (args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  run([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    f("ca.key"),
    "-out",
    f("ca.crt"),
    "-subj",
    "/CN=Routewise Test CA",
    "-days",
    "2",
  ]);
  run(["req", ...ec, "-keyout", f("srv.key"), "-out", f("srv.csr"), "-subj", "/CN=127.0.0.1"]);
  writeFileSync(f("ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
  run([
    "x509",
    "-req",
    "-in",
    f("srv.csr"),
    "-CA",
    f("ca.crt"),
    "-CAkey",
    f("ca.key"),
    "-CAcreateserial",
    "-out",
    f("srv.crt"),
    "-days",
    "2",
    "-extfile",
    f("ext.cnf"),
  ]);
  return {
    ca: readFileSync(f("ca.crt"), "utf8"),
    key: readFileSync(f("srv.key"), "utf8"),
    cert: readFileSync(f("srv.crt"), "utf8"),
  };
}

interface ConnectProxy {
  url: string;
  /** host:port of every tunnel opened. */
  tunnels: string[];
  close(): Promise<void>;
}

/** A forward proxy that tunnels CONNECT to loopback targets only (anything else: 403). */
async function startConnectProxy(): Promise<ConnectProxy> {
  const tunnels: string[] = [];
  const server: Server = createServer((_req, res) => res.writeHead(405).end());
  server.on("connect", (req, client, head) => {
    const target = req.url ?? "";
    const [host, port] = target.split(":");
    if (host !== "127.0.0.1" || !port) {
      client.end("HTTP/1.1 403 Forbidden\r\n\r\n");
      return;
    }
    tunnels.push(target);
    const upstream = connect(Number(port), host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    const drop = () => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on("error", drop);
    client.on("error", drop);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let pki: Pki;
let upstream: OpenAIMockHandle;
let proxy: ConnectProxy;
const routers: JsonRouter[] = [];
const saved = { HTTPS_PROXY: process.env["HTTPS_PROXY"], NO_PROXY: process.env["NO_PROXY"] };

beforeAll(async () => {
  pki = makePki();
  upstream = await startOpenAIMock({ tls: { key: pki.key, cert: pki.cert } });
  proxy = await startConnectProxy();
});

afterEach(() => {
  restore("HTTPS_PROXY", saved.HTTPS_PROXY);
  restore("NO_PROXY", saved.NO_PROXY);
});

function restore(name: "HTTPS_PROXY" | "NO_PROXY", value: string | undefined): void {
  if (value !== undefined) process.env[name] = value;
  else if (name === "HTTPS_PROXY") delete process.env["HTTPS_PROXY"];
  else delete process.env["NO_PROXY"];
}

afterAll(async () => {
  await Promise.all(routers.map((r) => r.stop()));
  await Promise.all([upstream.close(), proxy.close()]);
});

/** A router with one route over one TLS provider reached with `egress`. */
async function routerWith(egress: EgressConfig | undefined, withCa = true): Promise<JsonRouter> {
  const base = mockProvider("tls", upstream.url, 80, [1, 2]);
  const provider: ProviderConfig = egress === undefined ? base : { ...base, egress };
  const credentials: Record<string, string> = { "default.tls": KEY };
  if (withCa) credentials["default.tls_ca"] = pki.ca;
  const r = await startJsonRouter(
    routerConfig([provider], [route("egress", ["default/tls"], "default/tls")]),
    credentials,
  );
  routers.push(r);
  return r;
}

const ask = [{ role: "user" as const, content: "hello through the proxy" }];
const target = () => `127.0.0.1:${new URL(upstream.url).port}`;

describe("egress: proxies and CA bundles", () => {
  it("tunnels through a provider's own proxy URL and trusts its CA bundle", async () => {
    const before = proxy.tunnels.length;
    const r = await routerWith({ proxy: "url", proxyURL: proxy.url, caKey: "default.tls_ca" });
    const answer = await r.client.chat.completions.create({ model: "egress", messages: ask });
    expect(answer.choices[0]?.message.content).toContain("hello through the proxy");
    expect(proxy.tunnels.slice(before)).toEqual([target()]);
    const seen = upstream.requests[upstream.requests.length - 1];
    expect(seen?.headers["authorization"]).toBe(`Bearer ${KEY}`);
  });

  it("honours HTTPS_PROXY from the router's environment by default", async () => {
    process.env["HTTPS_PROXY"] = proxy.url;
    delete process.env["NO_PROXY"];
    const before = proxy.tunnels.length;
    const r = await routerWith({ proxy: "environment", proxyURL: null, caKey: "default.tls_ca" });
    await r.client.chat.completions.create({ model: "egress", messages: ask });
    expect(proxy.tunnels.slice(before)).toEqual([target()]);
  });

  it("goes direct for hosts in NO_PROXY, and for a provider with proxy None", async () => {
    process.env["HTTPS_PROXY"] = proxy.url;
    process.env["NO_PROXY"] = "127.0.0.1";
    const before = proxy.tunnels.length;
    const envRouter = await routerWith({ proxy: "environment", proxyURL: null, caKey: "default.tls_ca" });
    await envRouter.client.chat.completions.create({ model: "egress", messages: ask });
    delete process.env["NO_PROXY"];
    const direct = await routerWith({ proxy: "direct", proxyURL: null, caKey: "default.tls_ca" });
    await direct.client.chat.completions.create({ model: "egress", messages: ask });
    expect(proxy.tunnels.slice(before)).toEqual([]);
  });

  it("refuses an upstream whose certificate chains to a CA it was not given, without leaking the key", async () => {
    const r = await routerWith({ proxy: "direct", proxyURL: null, caKey: null }, false);
    const error = await r.client.chat.completions.create({ model: "egress", messages: ask }).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 502 });
    expect(JSON.stringify(error)).not.toContain(KEY);
  });
});
