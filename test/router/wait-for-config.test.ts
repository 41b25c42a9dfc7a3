/**
 * `routewise router --wait-for-config` (the chart's router): a mounted ConfigMap whose config is invalid leaves
 * the router up and unready — /healthz 200, /readyz 503 with the reason, the API 503 not_ready, the refusal logged
 * once — and the first valid config written there is loaded (no restart). Without the flag the same directory
 * fails startRouter() with the field error, and standalone CR YAML with a typo stops the CLI with file:line.
 * The spawned cases run bin/routewise.js: run `npm run build` first.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { configSource } from "../../cli/commands/router.js";
import { createAdapters, startRouter, type RunningRouter } from "../../router/main.js";
import { ManagedProcess } from "../harness/process.js";
import { waitFor } from "../harness/wait.js";
import { startOpenAIMock, type OpenAIMockHandle } from "../mocks/openai-mock.js";
import { captureLogs } from "./harness.js";
import { mockProvider, route, routerConfig, writeMounted } from "./json-router.js";

const CREDENTIALS = { "default.cheap": "sk-cheap-secret" };
/** The CLI as the image runs it (run `npm run build` first). */
const BIN = fileURLToPath(new URL("../../bin/routewise.js", import.meta.url));

let mock: OpenAIMockHandle | null = null;
let router: RunningRouter | null = null;
let child: ManagedProcess | null = null;

afterEach(async () => {
  await router?.stop();
  await child?.stop(10_000);
  await mock?.close();
  router = null;
  child = null;
  mock = null;
});

function validConfig(url: string) {
  return routerConfig([mockProvider("cheap", url, 80, [1, 2])], [route("chat", ["default/cheap"], "default/cheap")]);
}

/** The valid config with a typo'd field name (`retyr`): the schema refuses it (retry is required). */
function typoConfig(url: string): string {
  const config = validConfig(url);
  const [first, ...rest] = config.routes;
  const { retry, ...fields } = first ?? route("chat", [], "");
  return JSON.stringify({ ...config, routes: [{ ...fields, retyr: retry }, ...rest] });
}

async function start(dir: string, creds: string, waitForConfig: boolean, logger = pino({ level: "silent" })) {
  const source = configSource({ config: dir, credentials: creds, namespace: "default", waitForConfig });
  return startRouter({
    host: "127.0.0.1",
    port: 0,
    metricsPort: 0,
    logger,
    load: source.load,
    watchPaths: source.watchPaths,
    pollIntervalMs: 200, // the poll alone must find the fix (file events are a bonus)
    adapters: createAdapters(),
    drainTimeoutMs: 5_000,
    waitForConfig,
  });
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const chat = (url: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "chat", max_tokens: 8, messages: [{ role: "user", content: "Hello there!" }] }),
  });

describe("router: --wait-for-config", () => {
  it("serves unready with the reason while the mounted config is invalid, then loads the fixed one", async () => {
    mock = await startOpenAIMock();
    const { dir, creds } = writeMounted(validConfig(mock.url), CREDENTIALS);
    writeFileSync(join(dir, "config.json"), typoConfig(mock.url));
    const logs = captureLogs();
    router = await start(dir, creds, true, logs.logger);

    expect((await fetch(`${router.url}/healthz`)).status).toBe(200);
    expect(await getJson(`${router.url}/readyz`)).toEqual({
      status: 503,
      body: { status: "not ready", reason: "config field routes[0].retry: is required" },
    });
    const refused = await chat(router.url);
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("not_ready");

    for (let i = 0; i < 3; i++) await router.reloader.reload(); // what the poll does
    const rejections = logs.lines.filter((l) => l.includes("Rejected router config; not ready"));
    expect(rejections).toHaveLength(1);
    expect(logs.lines.join("\n")).not.toContain("sk-cheap-secret");

    const fixed = validConfig(mock.url);
    writeFileSync(join(dir, "config.json"), JSON.stringify(fixed));
    const ready = await waitFor(
      async () => {
        const r = await getJson(`${router?.url ?? ""}/readyz`);
        return r.status === 200 ? r.body : null;
      },
      30_000,
      { description: "the router to load the fixed config" },
    );
    expect(ready).toEqual({ status: "ready", config: fixed.hash });
    expect((await chat(router.url)).status).toBe(200);
  }, 60_000);

  it("names the file, never its content, while the mounted config is not JSON", async () => {
    mock = await startOpenAIMock();
    const { dir, creds } = writeMounted(validConfig(mock.url), CREDENTIALS);
    writeFileSync(join(dir, "config.json"), '{"apiKey": "sk-leaked-secret", ');
    router = await start(dir, creds, true);
    const readyz = await getJson(`${router.url}/readyz`);
    expect(readyz).toEqual({
      status: 503,
      body: { status: "not ready", reason: `${join(dir, "config.json")}: not valid JSON` },
    });
  }, 60_000);

  it("fails startRouter() with the field error without --wait-for-config", async () => {
    mock = await startOpenAIMock();
    const { dir, creds } = writeMounted(validConfig(mock.url), CREDENTIALS);
    writeFileSync(join(dir, "config.json"), typoConfig(mock.url));
    await expect(start(dir, creds, false)).rejects.toThrow("config field routes[0].retry: is required");
  }, 60_000);

  it("keeps `routewise router --wait-for-config` running unready on an invalid config until a valid one is written", async () => {
    mock = await startOpenAIMock();
    const { dir, creds } = writeMounted(validConfig(mock.url), CREDENTIALS);
    writeFileSync(join(dir, "config.json"), typoConfig(mock.url));
    const log = join(mkdtempSync(join(tmpdir(), "routewise-wait-")), "router.log");
    const args = [BIN, "router", "--config", dir, "--credentials", creds, "--wait-for-config", "--host", "127.0.0.1"];
    args.push("--port", "0", "--metrics-port", "0", "--workers", "1", "--poll-interval", "200");
    const running = ManagedProcess.start("router", process.execPath, args, log);
    child = running;
    const lines = (): { msg?: string; url?: string }[] =>
      readFileSync(log, "utf8")
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { msg?: string; url?: string });
    const listening = await waitFor(
      () => lines().find((l) => l.msg?.startsWith("Routewise router listening") === true),
      60_000,
      { description: "the router to listen" },
    );
    const url = listening.url ?? "";
    expect(await getJson(`${url}/readyz`)).toMatchObject({ status: 503, body: { status: "not ready" } });
    const fixed = validConfig(mock.url);
    writeFileSync(join(dir, "config.json"), JSON.stringify(fixed));
    await waitFor(async () => (await getJson(`${url}/readyz`)).body["config"] === fixed.hash, 30_000, {
      description: "the router to load the fixed config",
    });
    expect(running.exit).toBeUndefined();
    expect(lines().filter((l) => l.msg === "Rejected router config; not ready until a valid one arrives")).toHaveLength(
      1,
    );
  }, 90_000);

  it("stops standalone `routewise router --config DIR` at start, exit 1, naming the file, line and field", async () => {
    const dir = mkdtempSync(join(tmpdir(), "routewise-standalone-"));
    cpSync(fileURLToPath(new URL("../../examples", import.meta.url)), dir, { recursive: true });
    const file = join(dir, "providers.yaml");
    const yaml = readFileSync(file, "utf8");
    const typo = yaml.replace("score:", "scroe:");
    writeFileSync(file, typo);
    const line = typo.slice(0, typo.indexOf("scroe:")).split("\n").length;
    const log = join(mkdtempSync(join(tmpdir(), "routewise-standalone-")), "router.log");
    const args = [BIN, "router", "--config", dir, "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0"];
    const running = ManagedProcess.start("router", process.execPath, [...args, "--workers", "1"], log);
    child = running;
    expect((await running.exited).code).toBe(1);
    expect(readFileSync(log, "utf8")).toMatch(
      new RegExp(`providers\\.yaml:${line}: .*spec\\.quality\\.scroe: unknown field`),
    );
  }, 90_000);
});
