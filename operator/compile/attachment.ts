/**
 * Who may attach to whom, as Gateway API decides it: a ModelRoute attaches to the ModelGateways its parentRefs
 * name (default: the one gateway in the install namespace), is admitted by a gateway's allowedRoutes and model-name
 * claims, and may use a ModelProvider in another namespace only when a ModelReferenceGrant there allows it. A
 * ModelClientKey attaches the same way and is admitted by allowedRoutes (model-name claims are about routes). Pure.
 */
import type { BudgetConfig } from "../../router/config/types.js";

export type NamespaceFrom = "Same" | "All" | "Selector";

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

export interface NamespacePolicy {
  from: NamespaceFrom;
  selector?: LabelSelector;
}

export interface ModelNameClaim {
  names: string[];
  namespaces: NamespacePolicy;
}

/** A gateway as the compiler sees it (defaults applied). */
export interface GatewayView {
  namespace: string;
  name: string;
  controllerName: string;
  allowedRoutes: NamespacePolicy;
  modelNames: ModelNameClaim[];
  /** spec.teamBudgets, sorted by team (absent: none). */
  teams?: { team: string; budget: BudgetConfig }[];
}

export interface ParentRef {
  namespace: string;
  name: string;
}

/** Namespace name → labels (namespaces the operator cannot see have none). */
export type NamespaceLabels = ReadonlyMap<string, Readonly<Record<string, string>>>;

export interface GrantView {
  /** The namespace the grant lives in (its targets' namespace). */
  namespace: string;
  fromNamespaces: string[];
  /** Provider names; null means every provider in the namespace. */
  toNames: string[] | null;
}

export function refKey(ref: ParentRef): string {
  return `${ref.namespace}/${ref.name}`;
}

/**
 * The gateways a route attaches to: its spec.parentRefs (a ref without a namespace means the route's own), or,
 * when it names none, the one gateway in the install namespace — none when there are zero or several.
 */
export function parentRefsOf(
  route: { namespace: string; parentRefs?: { name: string; namespace?: string }[] },
  gatewaysInInstallNamespace: readonly GatewayView[],
): ParentRef[] {
  if (route.parentRefs && route.parentRefs.length > 0)
    return route.parentRefs.map((p) => ({ namespace: p.namespace ?? route.namespace, name: p.name }));
  const only = gatewaysInInstallNamespace.length === 1 ? gatewaysInInstallNamespace[0] : undefined;
  return only ? [{ namespace: only.namespace, name: only.name }] : [];
}

/** Whether a namespace policy of a gateway in `home` admits `namespace`. */
export function admitsNamespace(
  policy: NamespacePolicy,
  home: string,
  namespace: string,
  labels: NamespaceLabels,
): boolean {
  if (policy.from === "All") return true;
  if (policy.from === "Same") return namespace === home;
  return policy.selector !== undefined && matchesSelector(policy.selector, labels.get(namespace) ?? {});
}

export function matchesSelector(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  const exact = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  return exact && (selector.matchExpressions ?? []).every((e) => matchesExpression(e, labels));
}

function matchesExpression(
  e: NonNullable<LabelSelector["matchExpressions"]>[number],
  labels: Readonly<Record<string, string>>,
): boolean {
  const value = labels[e.key];
  switch (e.operator) {
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
    case "In":
      return value !== undefined && (e.values ?? []).includes(value);
    case "NotIn":
      return value === undefined || !(e.values ?? []).includes(value);
  }
}

/** Null when the gateway admits a route from `namespace` serving `modelName`; else why not. */
export function admission(
  gateway: GatewayView,
  route: { namespace: string; modelName: string },
  labels: NamespaceLabels,
): string | null {
  const where = `ModelGateway ${refKey(gateway)}`;
  if (!admitsNamespace(gateway.allowedRoutes, gateway.namespace, route.namespace, labels))
    return `${where} does not allow routes from namespace ${route.namespace} (allowedRoutes.namespaces.from: ${gateway.allowedRoutes.from})`;
  const claims = gateway.modelNames.filter((c) => c.names.some((n) => nameMatches(n, route.modelName)));
  if (claims.length === 0) return null;
  if (claims.some((c) => admitsNamespace(c.namespaces, gateway.namespace, route.namespace, labels))) return null;
  return `${where} reserves modelName ${JSON.stringify(route.modelName)} for other namespaces (spec.modelNames)`;
}

/** Null when the gateway admits a ModelClientKey from `namespace` (its allowedRoutes); else why not. */
export function keyAdmission(gateway: GatewayView, namespace: string, labels: NamespaceLabels): string | null {
  if (admitsNamespace(gateway.allowedRoutes, gateway.namespace, namespace, labels)) return null;
  return `ModelGateway ${refKey(gateway)} does not allow client keys from namespace ${namespace} (allowedRoutes.namespaces.from: ${gateway.allowedRoutes.from})`;
}

/** An exact name, or a prefix ending in "*". */
export function nameMatches(pattern: string, name: string): boolean {
  return pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : pattern === name;
}

/** A route in `from` may use provider `to/name` when both are in one namespace or a grant in `to` allows it. */
export function referencePermitted(grants: readonly GrantView[], from: string, to: string, name: string): boolean {
  if (from === to) return true;
  return grants.some(
    (g) => g.namespace === to && g.fromNamespaces.includes(from) && (g.toNames === null || g.toNames.includes(name)),
  );
}
