/**
 * The router's gate for configs arriving from outside (a mounted ConfigMap, a file): version, shape, integrity
 * and internal consistency, in that order. A config that fails here is refused and the last good one stays in
 * force. Every message names the field it is about.
 */
import { Ajv, type ValidateFunction } from "ajv";
import { contentHash } from "./hash.js";
import { isRecord, schemaFieldError } from "./json.js";
import schema from "./router-config.schema.json" with { type: "json" };
import {
  ROUTER_CONFIG_VERSION,
  ROUTER_CONFIG_VERSIONS,
  type ProviderConfig,
  type RouteConfig,
  type RouterConfig,
} from "./types.js";
import { configVersionFor, v2Field } from "./version.js";

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

let validator: ValidateFunction<RouterConfig> | null = null;

/** The schema generated from types.ts (gen-schema.ts), compiled once. */
function validateShape(): ValidateFunction<RouterConfig> {
  validator ??= new Ajv({ strict: true, allErrors: false }).compile<RouterConfig>(schema);
  return validator;
}

export function parseRouterConfig(value: unknown): RouterConfig {
  if (!isRecord(value)) throw new ConfigError("config must be a JSON object");
  // The version first: a config of another version may have another shape, and that is what to report.
  if (!(ROUTER_CONFIG_VERSIONS as readonly unknown[]).includes(value["version"])) {
    throw new ConfigError(
      `config version ${JSON.stringify(value["version"])} is not supported (this router reads ${ROUTER_CONFIG_VERSIONS.join(", ")})`,
    );
  }
  const validate = validateShape();
  if (!validate(value)) {
    const first = validate.errors?.[0];
    const { field, message } = first ? schemaFieldError(first) : { field: "", message: "is invalid" };
    throw fieldError(field, message);
  }
  const { hash, ...body } = value;
  if (hash !== contentHash(body)) {
    throw new ConfigError(
      `config hash ${JSON.stringify(hash)} does not match its content (truncated or edited by hand?)`,
    );
  }
  checkVersion(value);
  checkReferences(value);
  return value;
}

/**
 * A v1 config with client keys or budgets would run unauthenticated and unlimited on a v1 router: never written,
 * so refused (a producer that forgot configVersionFor); a v2 config without them is refused the same way, since it
 * shuts older routers out for nothing.
 */
function checkVersion(config: RouterConfig): void {
  const expected = configVersionFor(config);
  if (config.version === expected) return;
  const field = v2Field(config);
  if (field !== null) throw fieldError(field, `needs config version ${expected} (a v1 router would ignore it)`);
  throw new ConfigError(
    `config version ${config.version} is for client keys or budgets; this config has none (use ${ROUTER_CONFIG_VERSION})`,
  );
}

/** Provider ids, route names and client key names are unique, and every provider a route names exists. */
function checkReferences(config: RouterConfig): void {
  const keys = new Set<string>();
  config.clientKeys?.keys.forEach((k, i) => {
    if (keys.has(k.name)) throw fieldError(`clientKeys.keys[${i}].name`, `duplicate client key ${k.name}`);
    keys.add(k.name);
  });
  const ids = new Set<string>();
  config.providers.forEach((p, i) => {
    checkProvider(p, `providers[${i}]`);
    if (ids.has(p.id)) throw fieldError(`providers[${i}].id`, `duplicate provider id ${p.id}`);
    ids.add(p.id);
  });
  const names = new Set<string>();
  config.routes.forEach((r, i) => {
    if (names.has(r.name)) throw fieldError(`routes[${i}].name`, `duplicate route name ${r.name}`);
    names.add(r.name);
    for (const [field, ref] of providerRefs(r)) {
      if (!ids.has(ref)) throw fieldError(`routes[${i}].${field}`, `unknown provider ${ref} (route ${r.name})`);
    }
  });
}

function checkProvider(p: ProviderConfig, at: string): void {
  if (p.type !== "simulated" && !/^https?:\/\//.test(p.baseURL))
    throw fieldError(`${at}.baseURL`, `must be an http(s) URL (provider ${p.id})`);
}

/** Every provider id a route refers to, with the field that holds it. */
function providerRefs(r: RouteConfig): [string, string][] {
  return [
    ["baseline", r.baseline],
    ...r.candidates.map((c, j): [string, string] => [`candidates[${j}].provider`, c.provider]),
    ...r.rules.flatMap((rule, j) => [
      ...rule.pin.map((id, k): [string, string] => [`rules[${j}].pin[${k}]`, id]),
      ...rule.exclude.map((id, k): [string, string] => [`rules[${j}].exclude[${k}]`, id]),
    ]),
  ];
}

function fieldError(field: string, message: string): ConfigError {
  return new ConfigError(field === "" ? `config: ${message}` : `config field ${field}: ${message}`);
}
