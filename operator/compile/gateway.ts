/**
 * One gateway's compile: which routes and client keys attach to it (parentRefs, or the default gateway), which of
 * those it admits (allowedRoutes, modelNames), and the router config of the admitted ones. Pure, like compile().
 */
import { REASONS } from "../api/v1alpha1/conditions.js";
import type { ModelClientKey, ModelGateway, ModelProvider, ModelRoute, SecretInfo } from "../api/v1alpha1/types.js";
import type { RouterConfig } from "../../router/config/types.js";
import {
  admission,
  keyAdmission,
  parentRefsOf,
  refKey,
  type GatewayView,
  type GrantView,
  type NamespaceLabels,
  type ParentRef,
} from "./attachment.js";
import { compileBudget } from "./budget.js";
import type { KeyDigests } from "./client-keys.js";
import { compile, compareStrings, namespaceOf, type CompileInput, type CompileResult } from "./compile.js";
import { GATEWAY_DEFAULTS } from "./defaults.js";
import { objectKey, type Problem } from "./problems.js";

/** Everything the operator's caches hold, validated. */
export interface PolicyWorld {
  providers: ModelProvider[];
  routes: ModelRoute[];
  /** Schema-valid ModelClientKeys (issue 17); absent: none. */
  clientKeys?: ModelClientKey[];
  secrets: SecretInfo[];
  rejectedProviders: { namespace: string; name: string }[];
  grants: GrantView[];
  namespaces: NamespaceLabels;
}

export interface GatewayCompile {
  gateway: GatewayView;
  /** Keys of the routes and client keys attached to this gateway (admitted or not). */
  attached: Set<string>;
  /** NotAllowedByParent problems of attached routes and keys the gateway does not admit. */
  refused: Problem[];
  result: CompileResult;
}

export function gatewayView(g: ModelGateway): GatewayView {
  const s = g.spec;
  return {
    namespace: namespaceOf(g),
    name: g.metadata.name,
    controllerName: s.controllerName ?? GATEWAY_DEFAULTS["spec.controllerName"],
    allowedRoutes: {
      from: s.allowedRoutes?.namespaces?.from ?? GATEWAY_DEFAULTS["spec.allowedRoutes.namespaces.from"],
      ...(s.allowedRoutes?.namespaces?.selector ? { selector: s.allowedRoutes.namespaces.selector } : {}),
    },
    modelNames: (s.modelNames ?? []).map((c) => ({
      names: c.names,
      namespaces: {
        from: c.namespaces?.from ?? GATEWAY_DEFAULTS["spec.modelNames[].namespaces.from"],
        ...(c.namespaces?.selector ? { selector: c.namespaces.selector } : {}),
      },
    })),
    teams: (s.teamBudgets ?? [])
      .flatMap(({ team, ...b }) => {
        const budget = compileBudget(b);
        return budget ? [{ team, budget }] : [];
      })
      .sort((a, b) => compareStrings(a.team, b.team)),
  };
}

/** The parents of every route, given this controller's gateways in the install namespace (the default parent). */
export function routeParents(routes: ModelRoute[], defaultGateways: GatewayView[]): Map<string, ParentRef[]> {
  return new Map(
    routes.map((r) => [
      routeKey(r),
      parentRefsOf(
        { namespace: namespaceOf(r), ...(r.spec.parentRefs ? { parentRefs: r.spec.parentRefs } : {}) },
        defaultGateways,
      ),
    ]),
  );
}

/** The parents of every client key: like a route's (its parentRefs, else the install namespace's one gateway). */
export function keyParents(keys: ModelClientKey[], defaultGateways: GatewayView[]): Map<string, ParentRef[]> {
  return new Map(
    keys.map((k) => [
      keyKey(k),
      parentRefsOf(
        { namespace: namespaceOf(k), ...(k.spec.parentRefs ? { parentRefs: k.spec.parentRefs } : {}) },
        defaultGateways,
      ),
    ]),
  );
}

/** What compiling a gateway needs besides the world: its salt and key digests, auto shadow. */
export interface GatewayInputs {
  /** Route keys programmed as shadow (ADR 10). */
  autoShadow?: ReadonlySet<string>;
  /** The gateway's salt and the digests of the client keys' values under it (client-keys.ts keyDigests). */
  keys?: { salt: string; digests: KeyDigests };
  /** Learning routes' evidence read from Prometheus (ADR 12). */
  learning?: CompileInput["learning"];
}

export function compileGateway(
  gateway: GatewayView,
  world: PolicyWorld,
  parents: Map<string, ParentRef[]>,
  previous: RouterConfig | null,
  inputs: GatewayInputs = {},
): GatewayCompile {
  const into = { attached: new Set<string>(), refused: [] as Problem[] };
  const admitted = attach(gateway, parents, world.routes, into, (r) =>
    admission(gateway, { namespace: namespaceOf(r), modelName: r.spec.modelName }, world.namespaces),
  );
  const keys = attach(gateway, parents, world.clientKeys ?? [], into, (k) =>
    keyAdmission(gateway, namespaceOf(k), world.namespaces),
  );
  const result = compile({
    providers: world.providers,
    routes: admitted,
    secrets: world.secrets,
    rejectedProviders: world.rejectedProviders,
    grants: world.grants,
    previous,
    autoShadow: inputs.autoShadow ?? new Set(),
    ...(inputs.keys
      ? { clientKeys: { keys, salt: inputs.keys.salt, digests: inputs.keys.digests, teams: gateway.teams ?? [] } }
      : {}),
    ...(inputs.learning ? { learning: inputs.learning } : {}),
  });
  return { gateway, attached: into.attached, refused: into.refused, result };
}

type Attachable = ModelRoute | ModelClientKey;

/**
 * The objects that attach to the gateway and that it admits. One that names no parent attaches to the default
 * gateway only where that gateway admits it; one that names this gateway is told why it is refused.
 */
function attach<T extends Attachable>(
  gateway: GatewayView,
  parents: Map<string, ParentRef[]>,
  objects: readonly T[],
  into: { attached: Set<string>; refused: Problem[] },
  why: (o: T) => string | null,
): T[] {
  const key = refKey(gateway);
  const admitted: T[] = [];
  for (const o of objects) {
    const k = objectKey({ kind: o.kind, namespace: namespaceOf(o), name: o.metadata.name });
    if (!(parents.get(k) ?? []).some((p) => refKey(p) === key)) continue;
    const reason = why(o);
    if (reason !== null && (o.spec.parentRefs?.length ?? 0) === 0) continue;
    into.attached.add(k);
    if (reason === null) admitted.push(o);
    else into.refused.push(notAllowed(o, reason));
  }
  return admitted;
}

export function routeKey(r: ModelRoute): string {
  return `ModelRoute/${namespaceOf(r)}/${r.metadata.name}`;
}

export function keyKey(k: ModelClientKey): string {
  return `ModelClientKey/${namespaceOf(k)}/${k.metadata.name}`;
}

function notAllowed(o: Attachable, message: string): Problem {
  return {
    object: { kind: o.kind, namespace: namespaceOf(o), name: o.metadata.name },
    field: "spec.parentRefs",
    condition: "Accepted",
    reason: REASONS.Accepted.notAllowedByParent,
    message,
  };
}
