import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  CONFIG_GZ_KEY,
  CONFIG_KEY,
  CONFIGMAP_NAME,
  CREDENTIALS_SECRET_NAME,
  MAX_PLAIN_CONFIG_BYTES,
  configFromConfigMap,
  configMapContent,
  readMountedConfig,
} from "./delivery.js";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "routewise-delivery-"));
}

describe("config delivery names", () => {
  it("stay the ones the Helm chart mounts and ADR 4 documents", () => {
    expect([CONFIGMAP_NAME, CREDENTIALS_SECRET_NAME, CONFIG_KEY, CONFIG_GZ_KEY]).toEqual([
      "routewise-router",
      "routewise-router-credentials",
      "config.json",
      "config.json.gz",
    ]);
  });
});

describe("configMapContent", () => {
  it("puts a small config under data config.json", () => {
    expect(configMapContent('{"a":1}')).toEqual({ data: { "config.json": '{"a":1}' } });
  });

  it("gzips a config larger than MAX_PLAIN_CONFIG_BYTES into binaryData config.json.gz", () => {
    const large = JSON.stringify({ pad: "x".repeat(MAX_PLAIN_CONFIG_BYTES) });
    const content = configMapContent(large);
    expect(content.data).toBeUndefined();
    expect(Object.keys(content.binaryData ?? {})).toEqual(["config.json.gz"]);
    expect(configFromConfigMap(content)).toBe(large);
  });

  it("reads back nothing from a ConfigMap without either key", () => {
    expect(configFromConfigMap({ data: { other: "x" } })).toBeNull();
  });
});

describe("readMountedConfig", () => {
  it("reads config.json and one credential per file, skipping the kubelet's hidden entries", () => {
    const root = tempDir();
    const config = join(root, "config");
    const credentials = join(root, "credentials");
    mkdirSync(config);
    mkdirSync(join(credentials, "..data"), { recursive: true });
    writeFileSync(join(config, CONFIG_KEY), '{"version":"v"}');
    writeFileSync(join(credentials, "team-a.openai"), "sk-1\n");
    writeFileSync(join(credentials, "..timestamp"), "x");
    const loaded = readMountedConfig({ config, credentials });
    expect(loaded.config).toEqual({ version: "v" });
    expect([...loaded.credentials]).toEqual([["team-a.openai", "sk-1"]]);
    rmSync(root, { recursive: true });
  });

  it("follows the config when it moves from config.json to config.json.gz between reads", () => {
    const dir = tempDir();
    writeFileSync(join(dir, CONFIG_KEY), '{"n":1}');
    expect(readMountedConfig({ config: dir }).config).toEqual({ n: 1 });
    rmSync(join(dir, CONFIG_KEY));
    writeFileSync(join(dir, CONFIG_GZ_KEY), gzipSync('{"n":2}'));
    expect(readMountedConfig({ config: dir }).config).toEqual({ n: 2 });
    rmSync(dir, { recursive: true });
  });

  it("reads a config file given directly, with no credentials directory", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "router.json"), '{"n":3}');
    const loaded = readMountedConfig({ config: join(dir, "router.json"), credentials: join(dir, "absent") });
    expect(loaded).toEqual({ config: { n: 3 }, credentials: new Map() });
    rmSync(dir, { recursive: true });
  });

  it("names the file when its content is not JSON", () => {
    const dir = tempDir();
    writeFileSync(join(dir, CONFIG_KEY), '{"truncated":');
    expect(() => readMountedConfig({ config: dir })).toThrow(`${join(dir, CONFIG_KEY)}: not valid JSON`);
    rmSync(dir, { recursive: true });
  });

  it("names the directory when it holds no config file", () => {
    const dir = tempDir();
    expect(() => readMountedConfig({ config: dir })).toThrow(`${dir}: holds neither config.json nor config.json.gz`);
    rmSync(dir, { recursive: true });
  });

  it("names the path when it does not exist", () => {
    const missing = join(tempDir(), "config");
    expect(() => readMountedConfig({ config: missing })).toThrow(`${missing}: no such file or directory`);
  });
});
