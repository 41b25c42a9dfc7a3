/** GET /v1/models: the route names and directly addressable provider models the caller's key may use. */
import type { Snapshot } from "../config/snapshot.js";
import { authenticate, type ClientAuth } from "./auth.js";

export interface ModelList {
  object: "list";
  data: { id: string; object: "model"; created: number; owned_by: string }[];
}

export function listModels(
  snap: Snapshot | null,
  auth: ClientAuth | null,
  header: (name: string) => string | undefined,
): ModelList {
  const principal = authenticate(auth, snap?.config.clientKeys, header);
  const allowed = (route: string): boolean => principal === null || principal.allows(route);
  const created = 0;
  const data = [
    ...[...(snap?.routes.values() ?? [])]
      .filter((r) => allowed(r.name))
      .map((r) => ({ id: r.name, object: "model" as const, created, owned_by: "routewise" })),
    ...[...(snap?.direct.entries() ?? [])]
      .filter(([, d]) => allowed(d.route.name))
      .map(([id, d]) => ({ id, object: "model" as const, created, owned_by: d.provider.id })),
  ];
  return { object: "list", data };
}
