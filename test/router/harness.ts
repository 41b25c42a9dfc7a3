/**
 * Starts a real router (in this process, on a loopback port) on CR YAML written to a temp dir, as standalone
 * mode does, with the official OpenAI SDK as its client.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { pino, type Logger } from "pino";
import { configSource } from "../../cli/commands/router.js";
import { ClassifierRegistry } from "../../router/classify/registry.js";
import type { Classifier } from "../../router/classify/types.js";
import { ClientAuth } from "../../router/http/auth.js";
import { createAdapters } from "../../router/providers/registry.js";
import { startRouter, type RunningRouter } from "../../router/main.js";

export interface TestRouter {
  router: RunningRouter;
  /** The API's base URL. */
  url: string;
  /** The metrics listener's base URL (`/metrics` is served only there). */
  metricsUrl: string;
  dir: string;
  client: OpenAI;
  /** Rewrites the policy YAML and waits for the router to apply (or refuse) it. */
  rewrite(yaml: string): Promise<void>;
  stop(): Promise<void>;
}

export interface TestRouterOptions {
  yaml: string;
  apiKeys?: unknown;
  maxBodyBytes?: number;
  drainTimeoutMs?: number;
  /** Default: silent. See captureLogs(). */
  logger?: Logger;
  /** The classifier every route uses (default: the heuristic one). */
  classifier?: Classifier;
}

/** A pino logger at debug level whose JSON lines are kept in `lines`. */
export function captureLogs(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => lines.push(line) });
  return { logger, lines };
}

export async function startTestRouter(o: TestRouterOptions): Promise<TestRouter> {
  const dir = mkdtempSync(join(tmpdir(), "routewise-router-"));
  writeFileSync(join(dir, "policy.yaml"), o.yaml);
  const source = configSource({ config: dir, namespace: "default" });
  const router = await startRouter({
    host: "127.0.0.1",
    port: 0,
    metricsPort: 0,
    logger: o.logger ?? pino({ level: "silent" }),
    load: source.load,
    watchPaths: source.watchPaths,
    pollIntervalMs: 60_000,
    adapters: createAdapters(),
    ...(o.classifier === undefined
      ? {}
      : { classifiers: await ClassifierRegistry.create({ onCacheHit: noop, onCacheMiss: noop }, o.classifier) }),
    auth: o.apiKeys === undefined ? null : ClientAuth.fromDocument(o.apiKeys),
    ...(o.maxBodyBytes === undefined ? {} : { maxBodyBytes: o.maxBodyBytes }),
    drainTimeoutMs: o.drainTimeoutMs ?? 5_000,
  });
  const client = new OpenAI({ baseURL: `${router.url}/v1`, apiKey: "client-key", maxRetries: 0 });
  return {
    router,
    url: router.url,
    metricsUrl: router.metricsUrl,
    dir,
    client,
    rewrite: async (yaml) => {
      writeFileSync(join(dir, "policy.yaml"), yaml);
      await router.reloader.reload();
    },
    stop: () => router.stop(),
  };
}

function noop(): void {
  // No decision cache in tests that bring their own classifier.
}

/** A ModelProvider YAML document for an OpenAI-compatible or Anthropic mock. */
export function providerYaml(
  name: string,
  o: {
    url: string;
    type?: string;
    score: number;
    /** Input and output USD per million tokens, and the cached input price (default: the input price). */
    price: [number, number] | [number, number, number];
    /** The capabilities flow map (default: tools, jsonMode and streaming). */
    capabilities?: string;
    extra?: string;
  },
): string {
  const cached = o.price[2] === undefined ? "" : `, cachedInputPerMillion: ${o.price[2]}`;
  return `apiVersion: routewise.dev/v1alpha1
kind: ModelProvider
metadata: { name: ${name} }
spec:
  type: ${o.type ?? "openai"}
  baseURL: ${o.url}${o.type === "anthropic" ? "" : "/v1"}
  model: ${name}-model
  auth: { secretRef: { name: keys, key: ${name} } }
  pricing: { inputPerMillion: ${o.price[0]}, outputPerMillion: ${o.price[1]}${cached} }
  capabilities: ${o.capabilities ?? "{ tools: true, jsonMode: true, streaming: true }"}
  quality: { score: ${o.score} }
  contextWindow: 100000
${o.extra ?? ""}
---
`;
}

export function secretYaml(keys: Record<string, string>): string {
  return `apiVersion: v1
kind: Secret
metadata: { name: keys }
stringData:
${Object.entries(keys)
  .map(([k, v]) => `  ${k}: ${v}`)
  .join("\n")}
---
`;
}

export function routeYaml(model: string, body: string): string {
  return `apiVersion: routewise.dev/v1alpha1
kind: ModelRoute
metadata: { name: ${model} }
spec:
  modelName: ${model}
${body}
---
`;
}
