/**
 * One gateway's compile: which routes attach to it (parentRefs, or the default gateway), which of those it admits
 * (allowedRoutes, modelNames), and the router config of the admitted ones. Pure, like compile().
 */
import { REASONS } from "../api/v1alpha1/conditions.js";
import type { ModelGateway, ModelProvider, ModelRoute, SecretInfo } from "../api/v1alpha1/types.js";
import type { RouterConfig } from "../../router/config/types.js";
import {
  admission,
  parentRefsOf,
  refKey,
  type GatewayView,
  type GrantView,
  type NamespaceLabels,
  type ParentRef,
} from "./attachment.js";
import { compile, namespaceOf, type CompileInput, type CompileResult } from "./compile.js";
import { GATEWAY_DEFAULTS } from "./defaults.js";
import type { Problem } from "./problems.js";

/** Everything the operator's caches hold, validated. */
export interface PolicyWorld {
  providers: ModelProvider[];
  routes: ModelRoute[];
  secrets: SecretInfo[];
  rejectedProviders: { namespace: string; name: string }[];
  grants: GrantView[];
  namespaces: NamespaceLabels;
}

export interface GatewayCompile {
  gateway: GatewayView;
  /** Keys of the routes attached to this gateway (admitted or not). */
  attached: Set<string>;
  /** NotAllowedByParent problems of attached routes the gateway does not admit. */
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

export function compileGateway(
  gateway: GatewayView,
  world: PolicyWorld,
  parents: Map<string, ParentRef[]>,
  previous: RouterConfig | null,
  inputs: Pick<CompileInput, "autoShadow" | "learning"> = {},
): GatewayCompile {
  const key = refKey(gateway);
  const attached = new Set<string>();
  const refused: Problem[] = [];
  const admitted: ModelRoute[] = [];
  for (const r of world.routes) {
    if (!(parents.get(routeKey(r)) ?? []).some((p) => refKey(p) === key)) continue;
    const why = admission(gateway, { namespace: namespaceOf(r), modelName: r.spec.modelName }, world.namespaces);
    // A route that names no parent attaches to the default gateway only where that gateway admits it; one that
    // names this gateway is told why it is refused.
    if (why !== null && (r.spec.parentRefs?.length ?? 0) === 0) continue;
    attached.add(routeKey(r));
    if (why === null) admitted.push(r);
    else refused.push(notAllowed(r, why));
  }
  const result = compile({
    providers: world.providers,
    routes: admitted,
    secrets: world.secrets,
    rejectedProviders: world.rejectedProviders,
    grants: world.grants,
    previous,
    ...inputs,
  });
  return { gateway, attached, refused, result };
}

export function routeKey(r: ModelRoute): string {
  return `ModelRoute/${namespaceOf(r)}/${r.metadata.name}`;
}

function notAllowed(r: ModelRoute, message: string): Problem {
  return {
    object: { kind: "ModelRoute", namespace: namespaceOf(r), name: r.metadata.name },
    field: "spec.parentRefs",
    condition: "Accepted",
    reason: REASONS.Accepted.notAllowedByParent,
    message,
  };
}
