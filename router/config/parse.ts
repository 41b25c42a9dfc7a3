/**
 * The router's gate for configs arriving from outside (a mounted ConfigMap, a file): version, integrity and
 * internal consistency. A config that fails here is refused and the last good one stays in force.
 */
import { contentHash } from "./hash.js";
import { isRecord } from "./json.js";
import {
  PROVIDER_TYPES,
  ROUTER_CONFIG_VERSION,
  type ProviderConfig,
  type RouteConfig,
  type RouterConfig,
} from "./types.js";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export function parseRouterConfig(value: unknown): RouterConfig {
  if (!isRecord(value)) throw new ConfigError("config must be a JSON object");
  if (value["version"] !== ROUTER_CONFIG_VERSION) {
    throw new ConfigError(
      `config version ${JSON.stringify(value["version"])} is not supported (this router reads ${ROUTER_CONFIG_VERSION})`,
    );
  }
  const providers = value["providers"];
  const routes = value["routes"];
  if (!Array.isArray(providers) || !Array.isArray(routes))
    throw new ConfigError("config needs providers and routes arrays");
  const { hash, ...body } = value;
  if (typeof hash !== "string" || hash !== contentHash(body)) {
    throw new ConfigError(
      `config hash ${JSON.stringify(hash)} does not match its content (truncated or edited by hand?)`,
    );
  }
  const config = value as unknown as RouterConfig;
  const ids = new Set<string>();
  config.providers.forEach((p, i) => {
    checkProvider(p, `providers[${i}]`);
    ids.add(p.id);
  });
  const names = new Set<string>();
  config.routes.forEach((r, i) => {
    checkRoute(r, ids, `routes[${i}]`);
    if (names.has(r.name)) throw new ConfigError(`routes[${i}]: duplicate route name ${r.name}`);
    names.add(r.name);
  });
  return config;
}

function checkProvider(p: ProviderConfig, at: string): void {
  if (!isRecord(p) || typeof p.id !== "string" || typeof p.model !== "string")
    throw new ConfigError(`${at}: needs id and model`);
  if (!(PROVIDER_TYPES as readonly string[]).includes(p.type)) throw new ConfigError(`${at}: unknown type ${p.type}`);
  const prices = [p.pricing.inputPerMillion, p.pricing.outputPerMillion, p.pricing.cachedInputPerMillion];
  if (!prices.every((n) => Number.isFinite(n) && n >= 0))
    throw new ConfigError(`${at}: prices must be non-negative numbers`);
  if (!Number.isFinite(p.quality.score)) throw new ConfigError(`${at}: quality.score must be a number`);
  if (p.type !== "simulated" && !/^https?:\/\//.test(p.baseURL))
    throw new ConfigError(`${at}: baseURL must be an http(s) URL`);
}

function checkRoute(r: RouteConfig, ids: Set<string>, at: string): void {
  if (!isRecord(r) || typeof r.name !== "string" || !Array.isArray(r.candidates))
    throw new ConfigError(`${at}: needs name and candidates`);
  const refs = [
    r.baseline,
    ...r.candidates.map((c) => c.provider),
    ...r.rules.flatMap((x) => [...x.pin, ...x.exclude]),
  ];
  for (const ref of refs) if (!ids.has(ref)) throw new ConfigError(`${at} (${r.name}): unknown provider ${ref}`);
  if (!(r.objective.minQualityRetention > 0 && r.objective.minQualityRetention <= 1)) {
    throw new ConfigError(`${at} (${r.name}): objective.minQualityRetention must be in (0,1]`);
  }
}
