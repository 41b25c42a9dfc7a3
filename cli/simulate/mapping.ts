/**
 * Which model of the rows each of the route's providers is: `--map ROW_MODEL=PROVIDER` (the provider by id
 * `namespace/name` or by name), else the provider whose upstream `model` equals the row's model id. Every provider
 * the route can send to (candidates, baseline, cascade stages) must map; the error lists both sides.
 */
import type { ProviderConfig, RouteConfig } from "../../router/config/types.js";
import { CliError } from "../errors.js";

/** Provider id → the rows' model name. */
export type ModelMap = ReadonlyMap<string, string>;

export function routeProviderIds(route: RouteConfig): string[] {
  const ids = [...route.candidates.map((c) => c.provider), route.baseline, ...(route.cascade?.stages ?? [])];
  return [...new Set(ids)];
}

interface MapEntry {
  rowModel: string;
  provider: string;
}

function parseEntry(text: string): MapEntry {
  const at = text.lastIndexOf("=");
  if (at <= 0 || at === text.length - 1) throw new CliError(`--map ${text}: expected ROW_MODEL=PROVIDER`);
  return { rowModel: text.slice(0, at), provider: text.slice(at + 1) };
}

const nameOf = (id: string): string => id.slice(id.indexOf("/") + 1);

function providerFor(entry: MapEntry, providers: readonly ProviderConfig[]): ProviderConfig {
  const hit = providers.find((p) => p.id === entry.provider) ?? providers.find((p) => nameOf(p.id) === entry.provider);
  if (!hit)
    throw new CliError(
      `--map ${entry.rowModel}=${entry.provider}: the route has no provider ${entry.provider} (providers: ${providers.map((p) => p.id).join(", ")})`,
    );
  return hit;
}

export function resolveModelMap(
  route: RouteConfig,
  providers: ReadonlyMap<string, ProviderConfig>,
  rowModels: ReadonlySet<string>,
  mapArgs: readonly string[],
): ModelMap {
  const used = routeProviderIds(route).flatMap((id) => providers.get(id) ?? []);
  const out = new Map<string, string>();
  for (const entry of mapArgs.map(parseEntry)) {
    if (!rowModels.has(entry.rowModel))
      throw new CliError(
        `--map ${entry.rowModel}=${entry.provider}: no row scores model ${entry.rowModel} (rows: ${[...rowModels].join(", ")})`,
      );
    out.set(providerFor(entry, used).id, entry.rowModel);
  }
  for (const p of used) if (!out.has(p.id) && rowModels.has(p.model)) out.set(p.id, p.model);
  const missing = used.filter((p) => !out.has(p.id));
  if (missing.length > 0)
    throw new CliError(
      `route ${route.name}: no row model for provider(s) ${missing.map((p) => `${p.id} (model ${p.model})`).join(", ")}; ` +
        `the rows score ${[...rowModels].join(", ")}; map them with --map ROW_MODEL=PROVIDER`,
    );
  return out;
}

export function rowModelsOf(rows: readonly { scores: Record<string, unknown> }[]): Set<string> {
  const out = new Set<string>();
  for (const r of rows) for (const m of Object.keys(r.scores)) out.add(m);
  return out;
}
