import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "./parse.js";
import { ConfigFileError, ConfigReloader, refusalReason, type LoadedConfig } from "./reloader.js";
import type { RouterConfig } from "./types.js";

/** The operator's compiler output for examples/ (golden-tested in operator/compile/compile.test.ts). */
const GOLDEN = join(import.meta.dirname, "../../operator/compile/testdata/examples.golden.json");
const valid = (): unknown => JSON.parse(readFileSync(GOLDEN, "utf8")) as unknown;
/** A typo'd field name (`retyr`): refused by the schema (retry is required), before the hash. */
function typo(): unknown {
  const config = valid() as { routes: Record<string, unknown>[] };
  const { retry, ...rest } = config.routes[0] ?? {};
  config.routes[0] = { ...rest, retyr: retry };
  return config;
}

/** A reloader over `content()` (swap it to change what is mounted), recording what it applied and refused. */
function reloader(content: { current: () => unknown }, waitForValidConfig: boolean) {
  const applied: RouterConfig[] = [];
  const rejected: { message: string; waiting: boolean }[] = [];
  const r = new ConfigReloader({
    load: (): Promise<LoadedConfig> => Promise.resolve({ config: content.current(), credentials: new Map() }),
    watchPaths: [],
    pollIntervalMs: 60_000,
    onApplied: (config) => applied.push(config),
    onRejected: (error, waiting) => rejected.push({ message: error.message, waiting }),
    waitForValidConfig,
  });
  return { r, applied, rejected };
}

describe("ConfigReloader", () => {
  it("throws the field error at start when the first config is invalid and it may not wait", async () => {
    const { r, rejected } = reloader({ current: typo }, false);
    await expect(r.start()).rejects.toThrow("config field routes[0].retry: is required");
    expect(rejected).toEqual([]);
    r.stop();
  });

  it("starts with no config and says why when the first config is invalid and it may wait", async () => {
    const { r, applied, rejected } = reloader({ current: typo }, true);
    await expect(r.start()).resolves.toBeNull();
    expect(applied).toEqual([]);
    expect(r.waiting).toBe("config field routes[0].retry: is required");
    expect(rejected).toEqual([{ message: "config field routes[0].retry: is required", waiting: true }]);
    r.stop();
  });

  it("reports a first config that stays invalid once, however often it is re-read", async () => {
    const { r, rejected } = reloader({ current: typo }, true);
    await r.start();
    for (let i = 0; i < 5; i++) await r.reload(); // what the poll does
    expect(rejected).toHaveLength(1);
    r.stop();
  });

  it("applies the first valid config that appears and is then no longer waiting", async () => {
    const content = { current: typo };
    const { r, applied } = reloader(content, true);
    await r.start();
    content.current = valid;
    await r.reload();
    expect(applied.map((c) => c.hash)).toEqual([(valid() as { hash: string }).hash]);
    expect(r.waiting).toBeNull();
    r.stop();
  });

  it("keeps the last good config, not waiting, when a later config is invalid", async () => {
    const content = { current: valid };
    const { r, rejected } = reloader(content, true);
    await expect(r.start()).resolves.toMatchObject({ hash: (valid() as { hash: string }).hash });
    content.current = typo;
    await r.reload();
    expect(r.waiting).toBeNull();
    expect(rejected).toEqual([{ message: "config field routes[0].retry: is required", waiting: false }]);
    r.stop();
  });
});

describe("refusalReason", () => {
  it("serves a config error's field message", () => {
    expect(refusalReason(new ConfigError("config field routes[0].name: is required"))).toBe(
      "config field routes[0].name: is required",
    );
  });

  it("serves a file error's reason, never the parser's quote of the content", () => {
    const error = new ConfigFileError(
      `x.json: not valid JSON (Unexpected token, "sk-secret" is...)`,
      "x.json: not valid JSON",
    );
    expect(refusalReason(error)).toBe("x.json: not valid JSON");
  });

  it("serves only where to look for any other error", () => {
    expect(refusalReason(new Error("EACCES: /etc/routewise/config/config.json sk-secret"))).toBe(
      "the router config could not be loaded (see the router log)",
    );
  });

  it("caps a long message", () => {
    expect(refusalReason(new ConfigError("x".repeat(1000)))).toHaveLength(300);
  });
});
