/**
 * Standalone mode: the same CR YAML a cluster would get, compiled locally into a RouterConfig plus the
 * credential values the config refers to (from Secret manifests in the same files). ModelClientKeys are compiled
 * as in a cluster, to salted hashes of their Secrets' values; the salt is the caller's (the router keeps one per
 * process, so hashes change only when keys do), or random.
 */
import { randomBytes } from "node:crypto";
import { keyDigests } from "../operator/compile/client-keys.js";
import { compile, type CompileResult } from "../operator/compile/compile.js";
import { compileGateway, gatewayView, keyParents, routeParents } from "../operator/compile/gateway.js";
import { grantView } from "../operator/controllers/world.js";
import { describeObject, objectKey, problemMessage } from "../operator/compile/problems.js";
import type { RouterConfig } from "../router/config/types.js";
import { loadManifests, type SourceError } from "./manifests.js";

export interface StandaloneResult {
  config: RouterConfig;
  /** credential key → secret value. */
  credentials: Record<string, string>;
  errors: SourceError[];
  skipped: string[];
}

export interface StandaloneOptions {
  /** The client-key salt (hex, at least 32 digits); default: a random one. */
  salt?: string;
}

/** A new client-key salt: 16 random bytes, hex (what the operator keeps per gateway). */
export function newSalt(): string {
  return randomBytes(16).toString("hex");
}

export function compileManifests(paths: string[], namespace: string, o: StandaloneOptions = {}): StandaloneResult {
  const loaded = loadManifests(paths, namespace);
  const compiled = compileLoaded(loaded, o.salt ?? newSalt());
  const errors = [...loaded.errors];
  for (const p of compiled.problems) {
    const where = loaded.locate(objectKey(p.object), p.field) ?? { file: "<unknown>", line: 0 };
    errors.push({ ...where, object: describeObject(p.object), field: p.field, message: problemMessage(p) });
  }
  const credentials: Record<string, string> = {};
  for (const c of compiled.credentials) {
    const value = loaded.secretValues.get(`${c.namespace}/${c.secretName}`)?.[c.secretKey];
    if (value !== undefined) credentials[c.key] = value;
  }
  errors.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
  return { config: compiled.config, credentials, errors, skipped: loaded.skipped };
}

/**
 * Standalone mode runs one gateway. Without a ModelGateway in the files, every route and client key is served (a
 * router on a laptop has one team); with one, its parentRefs/allowedRoutes/modelNames rules apply as in a cluster. Several
 * gateways are a cluster's job: the files are refused, naming each extra gateway.
 */
function compileLoaded(
  loaded: ReturnType<typeof loadManifests>,
  salt: string,
): CompileResult & { refused: CompileResult["problems"] } {
  const value = (ns: string, name: string, key: string) => loaded.secretValues.get(`${ns}/${name}`)?.[key];
  const keys = { salt, digests: keyDigests(salt, loaded.clientKeys, value) };
  const world = {
    providers: loaded.providers,
    routes: loaded.routes,
    clientKeys: loaded.clientKeys,
    secrets: loaded.secrets,
    rejectedProviders: loaded.rejectedProviders,
    grants: loaded.grants.map(grantView),
    namespaces: new Map<string, Record<string, string>>(),
  };
  const gateways = [...loaded.gateways]
    .map(gatewayView)
    .sort((a, b) => (`${a.namespace}/${a.name}` < `${b.namespace}/${b.name}` ? -1 : 1));
  const [gateway, ...others] = gateways;
  if (!gateway) {
    const clientKeys = { keys: loaded.clientKeys, ...keys, teams: [] };
    return { ...compile({ ...world, clientKeys }), refused: [] };
  }
  for (const g of others) {
    const where = loaded.locate(`ModelGateway/${g.namespace}/${g.name}`, "metadata.name") ?? { file: "", line: 0 };
    loaded.errors.push({
      ...where,
      object: `ModelGateway ${g.namespace}/${g.name}`,
      field: "",
      message: `standalone mode serves one ModelGateway; ${gateway.namespace}/${gateway.name} is already one`,
    });
  }
  const parents = new Map([...routeParents(world.routes, [gateway]), ...keyParents(world.clientKeys, [gateway])]);
  const g = compileGateway(gateway, world, parents, null, { keys });
  return { ...g.result, problems: [...g.result.problems, ...g.refused], refused: g.refused };
}

export function formatSourceError(e: SourceError): string {
  const where = `${e.file}:${e.line}`;
  const what = [e.object, e.field].filter((s) => s !== "").join(": ");
  return what ? `${where}: ${what}: ${e.message}` : `${where}: ${e.message}`;
}
