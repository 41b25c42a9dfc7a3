/**
 * The config the router runs on, swapped atomically on reload. A request takes the snapshot once at its start
 * and keeps it to the end, so a reload never changes a request half-way.
 */
import type { ProviderConfig, RouteConfig, RouterConfig } from "./types.js";

export interface Snapshot {
  config: RouterConfig;
  providers: ReadonlyMap<string, ProviderConfig>;
  routes: ReadonlyMap<string, RouteConfig>;
  /** Upstream model ids clients may address directly (routes with exposeProviderModels). */
  direct: ReadonlyMap<string, { route: RouteConfig; provider: ProviderConfig }>;
  credentials: ReadonlyMap<string, string>;
  /** Routes that cannot serve this config (route name → why, e.g. a custom classifier that did not load). */
  unavailable: ReadonlyMap<string, string>;
}

export function buildSnapshot(
  config: RouterConfig,
  credentials: ReadonlyMap<string, string>,
  unavailable: ReadonlyMap<string, string> = new Map(),
): Snapshot {
  const providers = new Map(config.providers.map((p) => [p.id, p]));
  const routes = new Map(config.routes.map((r) => [r.name, r]));
  const direct = new Map<string, { route: RouteConfig; provider: ProviderConfig }>();
  for (const route of config.routes) {
    if (!route.exposeProviderModels) continue;
    for (const c of route.candidates) {
      const provider = providers.get(c.provider);
      // Route names win over provider model ids; the first route listing a model keeps it.
      if (provider && !routes.has(provider.model) && !direct.has(provider.model))
        direct.set(provider.model, { route, provider });
    }
  }
  return { config, providers, routes, direct, credentials, unavailable };
}

export class RouterState {
  private snapshot: Snapshot | null = null;

  get current(): Snapshot | null {
    return this.snapshot;
  }

  set(
    config: RouterConfig,
    credentials: ReadonlyMap<string, string>,
    unavailable: ReadonlyMap<string, string> = new Map(),
  ): Snapshot {
    this.snapshot = buildSnapshot(config, credentials, unavailable);
    return this.snapshot;
  }
}
