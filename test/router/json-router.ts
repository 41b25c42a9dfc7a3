/**
 * A real router (in this process, on a loopback port) on a RouterConfig JSON written to a temp dir, as a mounted
 * ConfigMap and credentials Secret are read in a cluster, for features the standalone YAML compiler does not
 * compile yet (route evaluation, canary). The official OpenAI SDK is its client.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { pino, type Logger } from "pino";
import { readMountedConfig } from "../../router/config/delivery.js";
import { contentHash } from "../../router/config/hash.js";
import { createHash } from "node:crypto";
import type {
  BudgetConfig,
  ClientKeysConfig,
  ProviderConfig,
  RouteConfig,
  RouterConfig,
} from "../../router/config/types.js";
import { configVersionFor } from "../../router/config/version.js";
import { createAdapters, startRouter, type RunningRouter, type RouterOptions } from "../../router/main.js";
import { providerConfig, routeConfig } from "../mocks/provider-config.js";

/** A RouterConfig with its content hash (and client keys, as the operator compiles ModelClientKeys), of the version
 * its content needs (v2 with client keys or budgets). */
export function routerConfig(
  providers: ProviderConfig[],
  routes: RouteConfig[],
  clientKeys: ClientKeysConfig | null = null,
): RouterConfig {
  const sorted = {
    providers: [...providers].sort((a, b) => a.id.localeCompare(b.id)),
    routes: [...routes].sort((a, b) => a.name.localeCompare(b.name)),
    ...(clientKeys ? { clientKeys } : {}),
  };
  const body = { version: configVersionFor(sorted), ...sorted };
  return { ...body, hash: contentHash(body) };
}

/** A compiled client key (issue 17): the salted sha256 of `key`, never the key. */
export function clientKey(
  salt: string,
  o: { name: string; key: string; team?: string | null; routes?: string[]; budget?: BudgetConfig | null },
) {
  const sha256 = createHash("sha256")
    .update(salt + o.key)
    .digest("hex");
  return { name: o.name, team: o.team ?? null, sha256, routes: o.routes ?? ["*"], budget: o.budget ?? null };
}

/** An OpenAI-compatible provider `default/<name>` serving `<name>-model` at `url`, its key `default.<name>`. */
export function mockProvider(name: string, url: string, score: number, price: [number, number]): ProviderConfig {
  return providerConfig({
    id: `default/${name}`,
    baseURL: `${url}/v1`,
    model: `${name}-model`,
    credentialKey: `default.${name}`,
    pricing: { inputPerMillion: price[0], outputPerMillion: price[1], cachedInputPerMillion: price[0] },
    quality: { score, domains: {} },
    contextWindow: 100_000,
  });
}

/** A route over `candidates` (provider ids) with the compiler's defaults. */
export function route(name: string, candidates: string[], baseline: string, extra: Partial<RouteConfig> = {}) {
  return routeConfig({
    name,
    source: { namespace: "default", name },
    candidates: candidates.map((provider) => ({ provider, weight: 1 })),
    baseline,
    objective: { minQualityRetention: 0.5, maxCostPerRequestUSD: null, minConfidence: 0 },
    retry: { attempts: 1, backoffBaseMs: 1, backoffMaxMs: 5, retryOn: [429, 500, 502, 503, 504] },
    circuitBreaker: { consecutiveFailures: 1000, cooldownMs: 1000 },
    ...extra,
  });
}

/** Writes the config and credentials the way a kubelet mounts them; returns both directories. */
export function writeMounted(
  config: RouterConfig,
  credentials: Record<string, string>,
): { dir: string; creds: string } {
  const dir = mkdtempSync(join(tmpdir(), "routewise-json-"));
  const creds = join(dir, "credentials");
  mkdirSync(join(dir, "config"));
  mkdirSync(creds);
  writeFileSync(join(dir, "config", "config.json"), JSON.stringify(config));
  for (const [k, v] of Object.entries(credentials)) writeFileSync(join(creds, k), v);
  return { dir: join(dir, "config"), creds };
}

export interface JsonRouter {
  router: RunningRouter;
  url: string;
  client: OpenAI;
  stop(): Promise<void>;
}

export async function startJsonRouter(
  config: RouterConfig,
  credentials: Record<string, string>,
  o: { logger?: Logger } & Pick<
    RouterOptions,
    "feedbackKey" | "evaluationQueue" | "auth" | "requestLog" | "state"
  > = {},
): Promise<JsonRouter> {
  const { dir, creds } = writeMounted(config, credentials);
  const router = await startRouter({
    host: "127.0.0.1",
    port: 0,
    metricsPort: 0,
    logger: o.logger ?? pino({ level: "silent" }),
    load: () => Promise.resolve(readMountedConfig({ config: dir, credentials: creds })),
    watchPaths: [dir, creds],
    pollIntervalMs: 60_000,
    adapters: createAdapters(),
    drainTimeoutMs: 5_000,
    ...(o.feedbackKey === undefined ? {} : { feedbackKey: o.feedbackKey }),
    ...(o.evaluationQueue === undefined ? {} : { evaluationQueue: o.evaluationQueue }),
    ...(o.auth === undefined ? {} : { auth: o.auth }),
    ...(o.requestLog === undefined ? {} : { requestLog: o.requestLog }),
    ...(o.state === undefined ? {} : { state: o.state }),
  });
  const client = new OpenAI({ baseURL: `${router.url}/v1`, apiKey: "client-key", maxRetries: 0 });
  return { router, url: router.url, client, stop: () => router.stop() };
}

/** The value of a series of the router's registry (0 when absent). */
export async function metricValue(r: RunningRouter, name: string, labels: Record<string, string>): Promise<number> {
  const metric = r.metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return hit?.value ?? 0;
}
