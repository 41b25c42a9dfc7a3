/**
 * Reads the informer caches once per reconcile and validates every object with the CRDs' own schema and CEL
 * rules: the valid ones become the compiler's input, the invalid ones keep their errors for their status. Secrets
 * are cached as metadata only; the values of the referenced ones come from secret-values.ts.
 */
import type {
  ModelClientKey,
  ModelGateway,
  ModelProvider,
  ModelReferenceGrant,
  ModelRoute,
  SecretInfo,
} from "../api/v1alpha1/types.js";
import type { Condition } from "../api/v1alpha1/conditions.js";
import {
  validateClientKey,
  validateGateway,
  validateGrant,
  validateProvider,
  validateRoute,
  type FieldError,
} from "../api/v1alpha1/validate.js";
import type { GrantView } from "../compile/attachment.js";
import type { PolicyWorld } from "../compile/gateway.js";
import { secretKey } from "../compile/secret-refs.js";
import type { HeldSecret } from "./secret-values.js";

/** A cached object as the informers hold it (shape checked by validation). */
export interface CachedObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: Date | string;
    labels?: Record<string, string>;
  };
  spec?: unknown;
  status?: {
    conditions?: Condition[];
    observedGeneration?: number;
    candidateCount?: number;
    parents?: unknown[];
    [key: string]: unknown;
  };
}

/** A Secret as the metadata-only informer holds it: no data, no annotations (metadata-informer.ts). */
export interface CachedSecretMetadata {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface CachedNamespace {
  metadata?: { name?: string; labels?: Record<string, string> };
}

export interface Caches {
  providers(): CachedObject[];
  routes(): CachedObject[];
  gateways(): CachedObject[];
  grants(): CachedObject[];
  /** ModelClientKeys (issue 17); absent: none (an operator without the informer). */
  clientKeys?(): CachedObject[];
  /** Every Secret in the watched namespaces, as metadata only. */
  secrets(): CachedSecretMetadata[];
  /** Namespaces with their labels (for allowedRoutes selectors); empty when the operator may not list them. */
  namespaces(): CachedNamespace[];
}

export type PolicyKind = "ModelProvider" | "ModelRoute" | "ModelGateway" | "ModelClientKey";

/** An object whose status the operator may write, valid or not. */
export interface Candidate {
  kind: PolicyKind;
  obj: CachedObject;
  namespace: string;
  name: string;
  /** Schema/CEL errors; empty when valid. */
  invalid: string[];
}

export interface ReadPolicies {
  /** The compiler's input but the Secrets (whose keys come from reading the referenced ones: withSecrets). */
  world: Omit<PolicyWorld, "secrets">;
  gateways: ModelGateway[];
  /** Every provider, route, gateway and client key, valid or not. */
  objects: Candidate[];
}

export function readPolicies(caches: Caches): ReadPolicies {
  const providers: ModelProvider[] = [];
  const routes: ModelRoute[] = [];
  const gateways: ModelGateway[] = [];
  const clientKeys: ModelClientKey[] = [];
  const objects: Candidate[] = [];
  const collect = <T>(kind: PolicyKind, list: CachedObject[], validate: Validator<T>, into: T[]): void => {
    for (const obj of list) {
      const { candidate, object } = check(kind, obj, validate);
      objects.push(candidate);
      if (object) into.push(object);
    }
  };
  collect("ModelProvider", caches.providers(), validateProvider, providers);
  collect("ModelRoute", caches.routes(), validateRoute, routes);
  collect("ModelGateway", caches.gateways(), validateGateway, gateways);
  collect("ModelClientKey", caches.clientKeys?.() ?? [], validateClientKey, clientKeys);
  const rejectedProviders = objects
    .filter((c) => c.kind === "ModelProvider" && c.invalid.length > 0)
    .map((c) => ({ namespace: c.namespace, name: c.name }));
  const world: Omit<PolicyWorld, "secrets"> = {
    providers,
    routes,
    clientKeys,
    rejectedProviders,
    grants: grantViews(caches.grants()),
    namespaces: new Map(
      caches.namespaces().flatMap((n) => (n.metadata?.name ? [[n.metadata.name, n.metadata.labels ?? {}]] : [])),
    ),
  };
  return { world, gateways, objects };
}

type Validator<T> = (obj: unknown) => { ok: true; object: T } | { ok: false; errors: FieldError[] };

function check<T>(
  kind: PolicyKind,
  obj: CachedObject,
  validate: Validator<T>,
): { candidate: Candidate; object: T | null } {
  const namespace = obj.metadata?.namespace ?? "default";
  const name = obj.metadata?.name ?? "";
  const result = validate(plain(kind, obj));
  const invalid = result.ok ? [] : result.errors.map((e) => `${e.field}: ${e.message}`);
  return { candidate: { kind, obj, namespace, name, invalid }, object: result.ok ? result.object : null };
}

/** The spec as written (without status); creationTimestamp as a string for precedence. */
function plain(kind: string, obj: CachedObject): unknown {
  return {
    apiVersion: obj.apiVersion,
    kind,
    metadata: { ...obj.metadata, creationTimestamp: timestamp(obj.metadata?.creationTimestamp) },
    spec: obj.spec,
  };
}

/** The world with the referenced Secrets that exist: their names and keys, never their values. */
export function withSecrets(world: Omit<PolicyWorld, "secrets">, secrets: readonly HeldSecret[]): PolicyWorld {
  const infos: SecretInfo[] = secrets.map((s) => ({
    namespace: s.metadata.namespace,
    name: s.metadata.name,
    keys: Object.keys(s.data),
  }));
  return { ...world, secrets: infos };
}

/** resourceVersion by namespace/name of every cached Secret (what SecretValues compares against). */
export function secretVersions(secrets: readonly CachedSecretMetadata[]): Map<string, string> {
  return new Map(
    secrets.flatMap((s) =>
      s.metadata?.name && s.metadata.namespace
        ? [
            [
              secretKey({ namespace: s.metadata.namespace, name: s.metadata.name }),
              s.metadata.resourceVersion ?? "",
            ] as const,
          ]
        : [],
    ),
  );
}

/** Valid ModelReferenceGrants as the compiler reads them; an invalid one grants nothing. */
function grantViews(list: CachedObject[]): GrantView[] {
  return list.flatMap((obj) => {
    const result = validateGrant(plain("ModelReferenceGrant", obj));
    if (!result.ok) return [];
    return [grantView(result.object)];
  });
}

export function grantView(g: ModelReferenceGrant): GrantView {
  const named = g.spec.to.flatMap((t) => (t.name === undefined ? [] : [t.name]));
  return {
    namespace: g.metadata.namespace ?? "default",
    fromNamespaces: g.spec.from.map((f) => f.namespace),
    toNames: g.spec.to.some((t) => t.name === undefined) ? null : named,
  };
}

function timestamp(t: Date | string | undefined): string | undefined {
  if (t === undefined) return undefined;
  return t instanceof Date ? t.toISOString() : t;
}
