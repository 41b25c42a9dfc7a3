/**
 * Standalone mode: the same CR YAML a cluster would get, compiled locally into a RouterConfig plus the
 * credential values the config refers to (from Secret manifests in the same files).
 */
import { compile } from "../operator/compile/compile.js";
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

export function compileManifests(paths: string[], namespace: string): StandaloneResult {
  const loaded = loadManifests(paths, namespace);
  const compiled = compile({
    providers: loaded.providers,
    routes: loaded.routes,
    secrets: loaded.secrets,
    rejectedProviders: loaded.rejectedProviders,
  });
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

export function formatSourceError(e: SourceError): string {
  const where = `${e.file}:${e.line}`;
  const what = [e.object, e.field].filter((s) => s !== "").join(": ");
  return what ? `${where}: ${what}: ${e.message}` : `${where}: ${e.message}`;
}
