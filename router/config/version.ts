/**
 * Which config version a config must carry (types.ts, "Compatibility"): v2 exactly when it has a field a v1 router
 * would ignore to its users' harm (client keys: no authentication; route budgets: no spend limit), else v1, so
 * configs without them stay readable by older routers. Producers (the operator, the CLI, test builders) call it;
 * the router's gate (parse.ts) refuses a config whose version says otherwise.
 */
import {
  ROUTER_CONFIG_VERSION,
  ROUTER_CONFIG_VERSION_V2,
  type RouterConfig,
  type RouterConfigVersion,
} from "./types.js";

export function configVersionFor(config: Pick<RouterConfig, "routes" | "clientKeys">): RouterConfigVersion {
  return v2Field(config) === null ? ROUTER_CONFIG_VERSION : ROUTER_CONFIG_VERSION_V2;
}

/** The first field that needs v2 (`clientKeys`, `routes[3].budget`), or null. */
export function v2Field(config: Pick<RouterConfig, "routes" | "clientKeys">): string | null {
  if (config.clientKeys !== undefined && config.clientKeys !== null) return "clientKeys";
  const i = config.routes.findIndex((r) => r.budget !== undefined && r.budget !== null);
  return i < 0 ? null : `routes[${i}].budget`;
}
