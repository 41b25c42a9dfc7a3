/**
 * How a RouterConfig travels from the operator to the routers (docs/adr/0004-config-delivery.md): each
 * ModelGateway's config in ConfigMap `<gateway>-router`, its credential values in Secret
 * `<gateway>-router-credentials` (for the chart's default gateway `routewise`: `routewise-router` and
 * `routewise-router-credentials`), both mounted into that gateway's router pods as files. The operator packs the ConfigMap with configMapContent(); routers (and tests that
 * mount like a kubelet) read the mounted files with readMountedConfig().
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { ConfigFileError, type LoadedConfig } from "./reloader.js";

/** The chart's default ModelGateway. */
export const DEFAULT_GATEWAY_NAME = "routewise";

/** The ConfigMap holding a gateway's router config. */
export function configMapName(gateway: string): string {
  return `${gateway}-router`;
}

/** The Secret holding the credential values a gateway's config refers to. */
export function credentialsSecretName(gateway: string): string {
  return `${gateway}-router-credentials`;
}

export const CONFIGMAP_NAME = configMapName(DEFAULT_GATEWAY_NAME);
export const CREDENTIALS_SECRET_NAME = credentialsSecretName(DEFAULT_GATEWAY_NAME);
/** ConfigMap key (and, mounted, file name) of the compact config JSON. */
/**
 * The key, in the credentials Secret (and the router's credentials directory), of the HMAC key that signs
 * feedback tokens: the operator generates it once per gateway and keeps it, so every replica verifies every
 * replica's tokens. Provider credential keys are `namespace.name` and always contain a dot; this one has none.
 */
export const FEEDBACK_KEY_CREDENTIAL = "feedback-signing-key";

/**
 * The key, in the credentials Secret, of the gateway's client-key salt (issue 17): generated once by the operator
 * when the gateway first has a ModelClientKey and kept, so the keys' hashes in the config stay the same across
 * rewrites and operator restarts. Not secret (the config carries it too); routers read it from the config.
 */
export const CLIENT_KEY_SALT_CREDENTIAL = "client-key-salt";

export const CONFIG_KEY = "config.json";
/** Used instead of CONFIG_KEY (in binaryData) when the JSON would not fit a ConfigMap comfortably (1 MiB cap). */
export const CONFIG_GZ_KEY = "config.json.gz";
export const MAX_PLAIN_CONFIG_BYTES = 768 * 1024;

/** The payload of a ConfigMap as the API server holds it (binaryData values base64-encoded). */
export interface ConfigMapContent {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** The ConfigMap payload for a config: `config.json`, or gzipped under binaryData `config.json.gz` when large. */
export function configMapContent(configJson: string): ConfigMapContent {
  return Buffer.byteLength(configJson) > MAX_PLAIN_CONFIG_BYTES
    ? { binaryData: { [CONFIG_GZ_KEY]: gzipSync(configJson).toString("base64") } }
    : { data: { [CONFIG_KEY]: configJson } };
}

/** The config JSON a ConfigMap holds, from `config.json` or `config.json.gz`; null when it holds neither. */
export function configFromConfigMap(cm: ConfigMapContent): string | null {
  const plain = cm.data?.[CONFIG_KEY];
  if (plain !== undefined) return plain;
  const gz = cm.binaryData?.[CONFIG_GZ_KEY];
  return gz === undefined ? null : gunzipSync(Buffer.from(gz, "base64")).toString("utf8");
}

/** The config file of a mounted ConfigMap directory: `config.json`, else `config.json.gz`; null when neither. */
export function mountedConfigFile(dir: string): string | null {
  for (const name of [CONFIG_KEY, CONFIG_GZ_KEY]) if (existsSync(join(dir, name))) return join(dir, name);
  return null;
}

/** Parses a config file (gunzipped first when its name ends in .gz); the error names the file. */
function readConfigFile(file: string): unknown {
  const raw = readFileSync(file);
  const text = (file.endsWith(".gz") ? gunzipSync(raw) : raw).toString("utf8");
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // The parser's message quotes the text around the error: logged, never served (the reason).
    const message = `${file}: not valid JSON (${err instanceof Error ? err.message : String(err)})`;
    throw new ConfigFileError(message, `${file}: not valid JSON`, { cause: err });
  }
}

/** A mounted Secret: one file per key; hidden entries (..data, ..timestamp) are the kubelet's own. */
export function readCredentialsDir(dir: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!dir || !existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name.startsWith(".")) continue;
    const file = join(dir, name);
    if (statSync(file).isFile()) out.set(name, readFileSync(file, "utf8").trim());
  }
  return out;
}

export interface MountedConfigPaths {
  /** A config JSON file, or the directory the router ConfigMap is mounted at. */
  config: string;
  /** The directory the credentials Secret is mounted at, if any. */
  credentials?: string | undefined;
}

/**
 * Reads the mounted ConfigMap and Secret. A directory is looked into on every call, so a config that moves from
 * `config.json` to `config.json.gz` (it grew past MAX_PLAIN_CONFIG_BYTES) is followed.
 */
export function readMountedConfig(paths: MountedConfigPaths): LoadedConfig {
  if (!existsSync(paths.config)) {
    const missing = `${paths.config}: no such file or directory`;
    throw new ConfigFileError(missing, missing);
  }
  const file = statSync(paths.config).isDirectory() ? mountedConfigFile(paths.config) : paths.config;
  if (file === null) {
    const empty = `${paths.config}: holds neither ${CONFIG_KEY} nor ${CONFIG_GZ_KEY}`;
    throw new ConfigFileError(empty, empty);
  }
  return { config: readConfigFile(file), credentials: readCredentialsDir(paths.credentials) };
}
