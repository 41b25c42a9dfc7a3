/**
 * The policy compiler: a pure function from validated ModelProviders, ModelRoutes and Secret metadata to the
 * RouterConfig the routers run, plus the problems found per object. No I/O, no clock, deterministic output.
 */
import { REASONS } from "../api/v1alpha1/conditions.js";
import type { ModelProvider, ModelRoute, SecretInfo } from "../api/v1alpha1/types.js";
import {
  ROUTER_CONFIG_VERSION,
  type ProviderConfig,
  type RouteConfig,
  type RouterConfig,
} from "../../router/config/types.js";
import { contentHash } from "../../router/config/hash.js";
import type { CredentialSource } from "./credentials.js";
import { ROUTE_DEFAULTS } from "./defaults.js";
import { compileProvider } from "./provider.js";
import { compileRoute, resolveCandidates } from "./route.js";
import { objectKey, type Problem } from "./problems.js";

export interface CompileInput {
  /** Schema-valid providers (see validateProvider). */
  providers: ModelProvider[];
  /** Schema-valid routes (see validateRoute). */
  routes: ModelRoute[];
  secrets: SecretInfo[];
  /** Providers that exist but failed validation: references to them say ProviderNotReady, not ProviderNotFound. */
  rejectedProviders?: { namespace: string; name: string }[];
}

export interface CompileResult {
  config: RouterConfig;
  problems: Problem[];
  credentials: CredentialSource[];
  /** Keys (objectKey) of the objects included in the config. */
  programmed: string[];
  /** Resolved candidate count per route key. */
  candidateCounts: Record<string, number>;
}

export function compile(input: CompileInput): CompileResult {
  const problems: Problem[] = [];
  const credentials: CredentialSource[] = [];
  const providers = new Map<string, ProviderConfig>();
  for (const p of sortByKey(input.providers)) {
    const out = compileProvider(p, input.secrets);
    problems.push(...out.problems);
    if (out.provider) providers.set(out.provider.id, out.provider);
    if (out.credential) credentials.push(out.credential);
  }

  const winners = pickWinners(sortByKey(input.routes), problems);
  const routes: RouteConfig[] = [];
  const candidateCounts: Record<string, number> = {};
  for (const r of winners) {
    const resolved = resolveCandidates(
      r,
      [...input.providers.map(refOf), ...(input.rejectedProviders ?? [])],
      providers,
      input.providers,
    );
    problems.push(...resolved.problems);
    candidateCounts[keyOf(r)] = resolved.candidates.length;
    const route = compileRoute(r, resolved, providers, problems);
    if (route) routes.push(route);
  }

  routes.sort((a, b) => compareStrings(a.name, b.name));
  const providerList = [...providers.values()].sort((a, b) => compareStrings(a.id, b.id));
  const body = { version: ROUTER_CONFIG_VERSION as RouterConfig["version"], providers: providerList, routes };
  const config: RouterConfig = { ...body, hash: contentHash(body) };
  const programmed = [
    ...providerList.map((p) => objectKey({ kind: "ModelProvider", ...splitId(p.id) })),
    ...routes.map((r) => objectKey({ kind: "ModelRoute", ...r.source })),
  ].sort(compareStrings);
  const usedKeys = new Set(providerList.map((p) => p.credentialKey));
  return {
    config,
    problems,
    credentials: credentials.filter((c) => usedKeys.has(c.key)),
    programmed,
    candidateCounts,
  };
}

/**
 * Precedence among ModelRoutes claiming one modelName: highest spec.priority, then the oldest
 * (creationTimestamp), then namespace/name order. Losers get Accepted=False/Conflicted.
 */
function pickWinners(routes: ModelRoute[], problems: Problem[]): ModelRoute[] {
  const byName = new Map<string, ModelRoute[]>();
  for (const r of routes) byName.set(r.spec.modelName, [...(byName.get(r.spec.modelName) ?? []), r]);
  const winners: ModelRoute[] = [];
  for (const [modelName, claimants] of byName) {
    const [winner, ...losers] = [...claimants].sort(comparePrecedence);
    if (!winner) continue;
    winners.push(winner);
    for (const loser of losers) {
      problems.push({
        object: { kind: "ModelRoute", namespace: namespaceOf(loser), name: loser.metadata.name },
        field: "spec.modelName",
        condition: "Accepted",
        reason: REASONS.Accepted.conflicted,
        message: `modelName ${JSON.stringify(modelName)} is served by ModelRoute ${namespaceOf(winner)}/${winner.metadata.name}, which takes precedence (priority, then age, then name)`,
      });
    }
  }
  return winners;
}

function comparePrecedence(a: ModelRoute, b: ModelRoute): number {
  const pa = a.spec.priority ?? ROUTE_DEFAULTS["spec.priority"];
  const pb = b.spec.priority ?? ROUTE_DEFAULTS["spec.priority"];
  if (pa !== pb) return pb - pa;
  const ta = a.metadata.creationTimestamp ?? "";
  const tb = b.metadata.creationTimestamp ?? "";
  if (ta !== tb) return ta === "" ? 1 : tb === "" ? -1 : compareStrings(ta, tb);
  return compareStrings(keyOf(a), keyOf(b));
}

export function namespaceOf(obj: { metadata: { namespace?: string } }): string {
  return obj.metadata.namespace ?? "default";
}

function keyOf(obj: ModelProvider | ModelRoute): string {
  return objectKey({ kind: obj.kind, namespace: namespaceOf(obj), name: obj.metadata.name });
}

function sortByKey<T extends ModelProvider | ModelRoute>(items: T[]): T[] {
  return [...items].sort((a, b) => compareStrings(keyOf(a), keyOf(b)));
}

function refOf(p: ModelProvider): { namespace: string; name: string } {
  return { namespace: namespaceOf(p), name: p.metadata.name };
}

function splitId(id: string): { namespace: string; name: string } {
  const [namespace = "", name = ""] = id.split("/");
  return { namespace, name };
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
