import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseRouterConfig } from "../../router/config/parse.js";
import { CliError } from "../errors.js";
import { LogLines } from "../log-lines.js";
import { applyHeapGrowingPercent, configSource, requestLogSink, stateOptions } from "./router.js";

const POLICIES = `apiVersion: routewise.dev/v1alpha1
kind: ModelProvider
metadata: { name: small }
spec: { type: simulated, model: s, pricing: { inputPerMillion: 1, outputPerMillion: 1 }, quality: { score: 60 } }
---
apiVersion: routewise.dev/v1alpha1
kind: ModelProvider
metadata: { name: judge }
spec:
  type: openai
  baseURL: https://api.openai.com/v1
  model: gpt-4o
  auth: { secretRef: { name: keys } }
  pricing: { inputPerMillion: 5, outputPerMillion: 15 }
  quality: { score: 88 }
---
apiVersion: v1
kind: Secret
metadata: { name: keys }
stringData: { apiKey: sk-judge }
---
apiVersion: routewise.dev/v1alpha1
kind: ModelRoute
metadata: { name: chat }
spec:
  modelName: chat
  candidates: [{ name: small }]
  baseline: { name: small }
  evaluation: { judge: { name: judge } }
  rollout: { mode: canary, percent: 25 }
`;

describe("routewise router --config DIR (standalone)", () => {
  it("serves spec.evaluation and a canary rollout from ModelRoute YAML, with the judge's key", async () => {
    const dir = mkdtempSync(join(tmpdir(), "routewise-standalone-"));
    writeFileSync(join(dir, "policies.yaml"), POLICIES);
    const loaded = await configSource({ config: dir, namespace: "default" }).load();
    const config = parseRouterConfig(loaded.config);
    expect(config.routes[0]).toMatchObject({
      rollout: "canary",
      canaryPercent: 25,
      evaluation: { judge: "default/judge", sampleRate: 0.05, maxCostPerHourUSD: 5 },
    });
    expect(loaded.credentials.get("default.judge")).toBe("sk-judge");
  });
});

describe("routewise router --config DIR --wait-for-config", () => {
  it("reads the directory as the operator's mounted ConfigMap even while it holds no config.json yet", async () => {
    const dir = mkdtempSync(join(tmpdir(), "routewise-wait-"));
    writeFileSync(join(dir, "policies.yaml"), POLICIES); // would be standalone without the flag
    const source = configSource({ config: dir, namespace: "default", waitForConfig: true });
    expect(source.standalone).toBe(false);
    await expect(source.load()).rejects.toThrow(`${dir}: holds neither config.json nor config.json.gz`);
  });

  it("waits for a config path that does not exist yet, which fails fast without the flag", async () => {
    const missing = join(mkdtempSync(join(tmpdir(), "routewise-wait-")), "config");
    expect(() => configSource({ config: missing, namespace: "default" })).toThrow(`${missing}: no such file`);
    const source = configSource({ config: missing, namespace: "default", waitForConfig: true });
    await expect(source.load()).rejects.toThrow(`${missing}: no such file or directory`);
  });
});

describe("routewise router's shared state flags", () => {
  const defaults = { stateFailurePolicy: "open", stateTimeout: "200", stateKeyPrefix: "routewise:standalone" };

  it("keeps state in memory without --redis-url", () => {
    expect(stateOptions(defaults)).toEqual({
      redis: null,
      failurePolicy: "open",
      timeoutMs: 200,
      keyPrefix: "routewise:standalone",
    });
  });

  it("reads the Redis password and CA bundle from files, trimmed", () => {
    const dir = mkdtempSync(join(tmpdir(), "routewise-redis-flags-"));
    writeFileSync(join(dir, "password"), "s3cret\n");
    writeFileSync(join(dir, "ca.pem"), "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n");
    const o = stateOptions({
      ...defaults,
      stateFailurePolicy: "closed",
      redisUrl: "rediss://redis:6380/0",
      redisPasswordFile: join(dir, "password"),
      redisCaFile: join(dir, "ca.pem"),
    });
    expect(o).toMatchObject({ failurePolicy: "closed", redis: { url: "rediss://redis:6380/0", password: "s3cret" } });
    expect(o.redis?.ca).toMatch(/END CERTIFICATE-----$/);
  });

  it("refuses a failure policy other than open or closed, an empty password file, and files without a URL", () => {
    expect(() => stateOptions({ ...defaults, stateFailurePolicy: "ignore" })).toThrow(/open or closed/);
    const dir = mkdtempSync(join(tmpdir(), "routewise-redis-flags-"));
    writeFileSync(join(dir, "empty"), "\n");
    expect(() => stateOptions({ ...defaults, redisUrl: "redis://r", redisPasswordFile: join(dir, "empty") })).toThrow(
      /is empty/,
    );
    expect(() => stateOptions({ ...defaults, redisPasswordFile: join(dir, "empty") })).toThrow(/need --redis-url/);
  });
});

describe("routewise router --heap-growing-percent", () => {
  it("takes an integer percent from 0 (V8's own growth) to 1000 and refuses anything else by name", () => {
    // "0" last: this test's own process goes back to V8's growth.
    for (const ok of ["50", "1000", "0"]) expect(() => applyHeapGrowingPercent(ok)).not.toThrow();
    for (const bad of ["", "abc", "-1", "12.5", "1001"])
      expect(() => applyHeapGrowingPercent(bad)).toThrow(/--heap-growing-percent must be an integer from 0 to 1000/);
  });
});

describe("routewise router --request-log", () => {
  const stdout = new LogLines(
    { write: () => undefined, writeSync: () => undefined },
    { maxBytes: 4096, maxDelayMs: 100 },
  );

  it("refuses at start a file it cannot open for appending, naming it", () => {
    const path = join(mkdtempSync(join(tmpdir(), "routewise-request-log-")), "missing-dir", "requests.jsonl");
    expect(() => requestLogSink(path, stdout)).toThrow(CliError);
    expect(() => requestLogSink(path, stdout)).toThrow(`--request-log: cannot open ${path} for appending`);
  });

  it("writes - through stdout's lines, batched like the access log", () => {
    const written: string[] = [];
    const lines = new LogLines(
      { write: (c) => written.push(c), writeSync: () => undefined },
      { maxBytes: 4096, maxDelayMs: 100 },
    );
    const sink = requestLogSink("-", lines);
    sink({ requestId: "a" });
    sink({ requestId: "b" });
    expect(written).toEqual([]);
    lines.flush();
    expect(written).toEqual(['{"requestId":"a"}\n{"requestId":"b"}\n']);
  });
});
