/**
 * The policy compiler: a pure function from validated ModelProviders, ModelRoutes and Secret metadata to the
 * RouterConfig the routers run, plus the problems found per object. No I/O, no clock, deterministic output.
 */
import { REASONS } from "../api/v1alpha1/conditions.js";
import type { ModelProvider, ModelRoute, SecretInfo } from "../api/v1alpha1/types.js";
import type { ProviderConfig, RouteConfig, RouterConfig } from "../../router/config/types.js";
import { configVersionFor } from "../../router/config/version.js";
import { contentHash } from "../../router/config/hash.js";
import type { RouteEvidence } from "../../router/learn/evidence.js";
import { learnRoute, type LearnedSummary } from "../../router/learn/route-learning.js";
import type { GrantView } from "./attachment.js";
import { compileClientKeys, type ClientKeyInput } from "./client-keys.js";
import type { CredentialSource } from "./credentials.js";
import { ROUTE_DEFAULTS } from "./defaults.js";
import { compileProvider } from "./provider.js";
import { asShadow, compileRoute, resolveCandidates } from "./route.js";
import { objectKey, type Problem } from "./problems.js";

export interface CompileInput {
  /** Schema-valid providers (see validateProvider). */
  providers: ModelProvider[];
  /** Schema-valid routes (see validateRoute): the routes one gateway admits. */
  routes: ModelRoute[];
  secrets: SecretInfo[];
  /** Providers that exist but failed validation: references to them say ProviderNotReady, not ProviderNotFound. */
  rejectedProviders?: { namespace: string; name: string }[];
  /** ModelReferenceGrants: which cross-namespace provider references are allowed (none: same namespace only). */
  grants?: GrantView[];
  /**
   * The config the gateway serves now. A route whose newest generation cannot be compiled keeps serving its
   * version from here (last known good); a route that never compiled is not served.
   */
  previous?: RouterConfig | null;
  /**
   * Route keys (objectKey) the operator programs as shadow whatever their spec says: auto shadow (ADR 10), a
   * compile-time input so the spec is never modified.
   */
  autoShadow?: ReadonlySet<string>;
  /**
   * Learning routes' evidence read from Prometheus, by route key (ADR 12): each becomes the route's `learned`
   * (router/learn learnRoute). A learning route without evidence here keeps the table `previous` serves.
   */
  learning?: ReadonlyMap<string, RouteEvidence>;
  /** The ModelClientKeys the gateway admits, with its salt, their digests and its team budgets (issue 17). */
  clientKeys?: ClientKeyInput;
}

export interface CompileResult {
  config: RouterConfig;
  problems: Problem[];
  credentials: CredentialSource[];
  /** Keys (objectKey) of the objects included in the config. */
  programmed: string[];
  /** Resolved candidate count per route key. */
  candidateCounts: Record<string, number>;
  /** Routes served at their last good version, by route key: the generation served (0 when unknown). */
  lastGood: Record<string, number>;
  /**
   * Credential keys the config needs that no current provider supplies (a last-good route's provider that is
   * gone): the operator keeps their values from the gateway's current credentials Secret.
   */
  carriedCredentialKeys: string[];
  /** Learning routes whose table was computed from `learning` in this compile: its summary, by route key. */
  learned: Record<string, LearnedSummary>;
}

export function compile(input: CompileInput): CompileResult {
  const problems: Problem[] = [];
  const { providers, credentials } = compileProviders(input, problems);
  const winners = pickWinners(sortByKey(input.routes), problems);
  const routes: RouteConfig[] = [];
  const candidateCounts: Record<string, number> = {};
  const lastGood: Record<string, number> = {};
  const existing = [...input.providers.map(refOf), ...(input.rejectedProviders ?? [])];
  const lookup = { existing, compiled: providers, objects: input.providers, grants: input.grants ?? [] };
  for (const r of winners) {
    const resolved = resolveCandidates(r, lookup);
    problems.push(...resolved.problems);
    candidateCounts[keyOf(r)] = resolved.candidates.length;
    const route = compileRoute(r, resolved, providers, problems) ?? carryOver(r, input.previous, lastGood);
    if (route) routes.push(input.autoShadow?.has(keyOf(r)) ? asShadow(route) : route);
  }
  routes.sort((a, b) => compareStrings(a.name, b.name));
  const providerList = usedProviders(routes, providers, input.previous);
  const keys = input.clientKeys
    ? compileClientKeys(input.clientKeys, input.secrets, new Set(routes.map((r) => r.name)), problems)
    : { config: null, programmed: [] };
  const learned: Record<string, LearnedSummary> = {};
  const served = routes.map((r) => withLearned(r, providerList, input, learned));
  const content = { providers: providerList, routes: served, ...(keys.config ? { clientKeys: keys.config } : {}) };
  const body = { version: configVersionFor(content), ...content };
  const config: RouterConfig = { ...body, hash: contentHash(body) };
  const programmed = [
    ...providerList.map((p) => objectKey({ kind: "ModelProvider", ...splitId(p.id) })),
    ...served.map((r) => objectKey({ kind: "ModelRoute", namespace: r.source.namespace, name: r.source.name })),
    ...keys.programmed,
  ].sort(compareStrings);
  const usedKeys = new Set(
    providerList.flatMap((p) => [p.credentialKey, p.egress?.caKey ?? null].filter((k): k is string => k !== null)),
  );
  const supplied = credentials.filter((c) => usedKeys.has(c.key));
  const carriedCredentialKeys = [...usedKeys].filter((k) => !supplied.some((c) => c.key === k)).sort(compareStrings);
  return {
    config,
    problems,
    credentials: supplied,
    programmed,
    candidateCounts,
    lastGood,
    carriedCredentialKeys,
    learned,
  };
}

/**
 * A learning route's `learned`: computed from its evidence when there is some, else the table the gateway serves
 * now (a read failed, or none happened yet since a start), so the config does not flap. A route that does not
 * learn carries none.
 */
function withLearned(
  route: RouteConfig,
  providers: ProviderConfig[],
  input: CompileInput,
  summaries: Record<string, LearnedSummary>,
): RouteConfig {
  const { learned: _old, ...plain } = route;
  if (!route.learning) return plain;
  const key = objectKey({ kind: "ModelRoute", namespace: route.source.namespace, name: route.source.name });
  const evidence = input.learning?.get(key);
  if (!evidence) {
    const served = input.previous?.routes.find((r) => sameSource(r, route))?.learned;
    return served ? { ...plain, learned: served } : plain;
  }
  const outcome = learnRoute(route, new Map(providers.map((p) => [p.id, p])), evidence);
  if (!outcome) return plain;
  summaries[key] = outcome.summary;
  return { ...plain, learned: outcome.learned };
}

function sameSource(a: RouteConfig, b: RouteConfig): boolean {
  return a.source.namespace === b.source.namespace && a.source.name === b.source.name;
}

function compileProviders(
  input: CompileInput,
  problems: Problem[],
): { providers: Map<string, ProviderConfig>; credentials: CredentialSource[] } {
  const credentials: CredentialSource[] = [];
  const providers = new Map<string, ProviderConfig>();
  for (const p of sortByKey(input.providers)) {
    const out = compileProvider(p, input.secrets);
    problems.push(...out.problems);
    if (out.provider) providers.set(out.provider.id, out.provider);
    if (out.credential) credentials.push(out.credential);
    if (out.ca) credentials.push(out.ca);
  }
  return { providers, credentials };
}

/** The route's version in the config the gateway serves now, when its newest generation does not compile. */
function carryOver(
  route: ModelRoute,
  previous: RouterConfig | null | undefined,
  lastGood: Record<string, number>,
): RouteConfig | null {
  const ns = namespaceOf(route);
  const served = previous?.routes.find((r) => r.source.namespace === ns && r.source.name === route.metadata.name);
  if (!served) return null;
  lastGood[keyOf(route)] = served.source.generation ?? 0;
  return served;
}

/**
 * Only the providers some served route names (candidates, baseline, judges): a gateway's config (and Secret) holds
 * nothing it does not use.
 */
function usedProviders(
  routes: RouteConfig[],
  compiled: Map<string, ProviderConfig>,
  previous: RouterConfig | null | undefined,
): ProviderConfig[] {
  const ids = new Set(
    routes.flatMap((r) => [
      r.baseline,
      ...r.candidates.map((c) => c.provider),
      ...(r.evaluation ? [r.evaluation.judge] : []),
      ...(r.cascade?.judge ? [r.cascade.judge] : []),
    ]),
  );
  const out = [...ids].flatMap((id) => {
    const p = compiled.get(id) ?? previous?.providers.find((x) => x.id === id);
    return p ? [p] : [];
  });
  return out.sort((a, b) => compareStrings(a.id, b.id));
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
