/**
 * The router's gate for configs arriving from outside (a mounted ConfigMap, a file): version, shape, integrity
 * and internal consistency, in that order. A config that fails here is refused and the last good one stays in
 * force. Every message names the field it is about.
 */
import { Ajv, type ValidateFunction } from "ajv";
import { contentHash } from "./hash.js";
import { isRecord, schemaFieldError } from "./json.js";
import schema from "./router-config.schema.json" with { type: "json" };
import { ROUTER_CONFIG_VERSION, type ProviderConfig, type RouteConfig, type RouterConfig } from "./types.js";

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
  if (value["version"] !== ROUTER_CONFIG_VERSION) {
    throw new ConfigError(
      `config version ${JSON.stringify(value["version"])} is not supported (this router reads ${ROUTER_CONFIG_VERSION})`,
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
  checkReferences(value);
  return value;
}

/** Provider ids are unique, route names are unique, and every provider a route names exists. */
function checkReferences(config: RouterConfig): void {
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
