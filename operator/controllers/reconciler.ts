/**
 * The one reconcile loop. Level-based: whatever event arrived, it reads the informer caches, and for each
 * ModelGateway this controller owns compiles the routes attached to and admitted by it (pure compiler), applies
 * that gateway's two outputs (skipping no-op writes), then writes each object's status once (skipping unchanged
 * ones). Objects of other controllers are never written: a route's status carries one entry per parent, each
 * written by that parent's controller.
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { ModelGateway } from "../api/v1alpha1/types.js";
import { refKey, type GatewayView, type ParentRef } from "../compile/attachment.js";
import {
  compileGateway,
  gatewayView,
  keyParents,
  routeParents,
  type GatewayCompile,
  type PolicyWorld,
} from "../compile/gateway.js";
import type { OperatorMetrics } from "../metrics.js";
import { describeWriteError, type CurrentOutputs, type GatewayOwner, type OperatorKube } from "./kube.js";
import { statusPlan, type GatewayOutcome, type StatusPlan } from "./status-plan.js";
import { sameStatus, type ObjectStatus } from "./status.js";
import { readPolicies, secretVersions, withSecrets, type Caches, type Candidate } from "./world.js";
import { SecretValues, type HeldSecret } from "./secret-values.js";
import { referencedSecrets, secretKey } from "../compile/secret-refs.js";
import {
  CLIENT_KEY_SALT_CREDENTIAL,
  FEEDBACK_KEY_CREDENTIAL,
  credentialsSecretName,
} from "../../router/config/delivery.js";
import { keyDigests } from "../compile/client-keys.js";
import { parseRouterConfig } from "../../router/config/parse.js";
import type { RouterConfig } from "../../router/config/types.js";
import type { RouteEvidence } from "../../router/learn/evidence.js";
import type { LearnedSummary } from "../../router/learn/route-learning.js";
import type { Condition } from "../api/v1alpha1/conditions.js";
import type { ModelRoute } from "../api/v1alpha1/types.js";
import type { Streak } from "../quality/auto-shadow.js";
import {
  canonical,
  decideRoute,
  knobsOf,
  NO_QUALITY_SOURCE,
  qualityFields,
  routeKeyOf,
  shadowedByStatus,
  type CurrentQuality,
  type QualitySnapshot,
  type RouteQuality,
} from "../quality/plan.js";
import type { QualityTarget } from "../quality/reading.js";
import { NO_SPEND, type SpendSnapshot } from "../quality/spend-reader.js";
import { spendPlan } from "../quality/spend-plan.js";
import type { SpendTarget } from "../quality/spend.js";
import { overlay, qualityView, type WrittenQuality } from "../quality/written.js";
import { objectKey } from "../compile/problems.js";
import type { PlannedEvent } from "./status-plan.js";
import { runLimited } from "./run-limited.js";
import { UnseenWrites } from "./unseen-writes.js";

export type { Caches, CachedObject, CachedSecretMetadata } from "./world.js";

export interface ReconcilerDeps {
  kube: OperatorKube;
  caches: Caches;
  /** The operator's install namespace: its one gateway there is the default parent of routes that name none. */
  namespace: string;
  /** This operator's controllerName; it programs only the gateways that name it. */
  controllerName: string;
  logger: Logger;
  metrics: OperatorMetrics;
  now: () => Date;
  /** Parallel status writes. */
  statusConcurrency?: number;
  /** The quality reader's latest result (ADR 10); absent: no Prometheus (QualityMet Unknown/NoMetricsSource). */
  quality?: { snapshot(): QualitySnapshot };
  /** How long after an auto shadow reset no new auto shadow happens (default one window, 1 h). */
  qualityHoldMs?: number;
  /** The spend reader's latest result (issue 17); absent: no Prometheus (status.budget without spend). */
  spend?: { snapshot(): SpendSnapshot };
}

/** One measurement window: the hold after an auto shadow reset. */
export const DEFAULT_QUALITY_HOLD_MS = 3_600_000;

export class Reconciler {
  private readonly lastHash = new Map<string, string>();
  /** Runs of low quality reads per route key (in memory: a new leader needs two fresh low reads). */
  private readonly streaks = new Map<string, Streak>();
  private targets: QualityTarget[] = [];
  private spendTargetList: SpendTarget[] = [];
  /** Statuses written whose watch events may not have reached the cache yet (not written twice). */
  private readonly unseen = new UnseenWrites();
  /** Quality fields written whose watch event may not have reached the cache yet, by route key. */
  private readonly written = new Map<string, WrittenQuality>();
  /** The gateways the last reconcile programmed: the leader Lease's owners. */
  private programmed: GatewayOwner[] = [];
  /** The values of the Secrets the objects reference, read by name (ADR 9). */
  private readonly secretValues: SecretValues;
  /** namespace/name of the Secrets the objects referenced when the caches were last read. */
  private referenced = new Set<string>();

  constructor(private readonly deps: ReconcilerDeps) {
    this.secretValues = new SecretValues({
      read: (ref) => deps.kube.readSecret(ref),
      onRead: (result) => deps.metrics.secretReads.inc({ result }),
    });
  }

  async reconcile(): Promise<void> {
    const started = performance.now();
    const { world: read, gateways, objects } = readPolicies(this.deps.caches);
    // The Secrets compiled against are the ones whose values are written (and redacted).
    const secrets = await this.readSecrets(read);
    const world = withSecrets(read, secrets);
    const views = gateways.map((g) => ({ object: g, view: gatewayView(g) }));
    const named = views.filter((g) => g.view.controllerName === this.deps.controllerName);
    // A gateway's outputs go beside it, and this operator writes only in its own namespace (RBAC by name).
    const mine = named.filter((g) => g.view.namespace === this.deps.namespace);
    for (const c of objects)
      if (c.kind === "ModelGateway" && named.some((g) => g.view.namespace === c.namespace && g.view.name === c.name))
        if (c.namespace !== this.deps.namespace)
          c.invalid.push(`metadata.namespace: this controller programs ModelGateways in ${this.deps.namespace} only`);
    const defaults = mine.filter((g) => g.view.namespace === this.deps.namespace).map((g) => g.view);
    const parents = attachments(world, defaults);
    const clock = this.deps.now();
    const now = clock.toISOString();
    const statuses = this.routeStatuses(objects);
    const mineKeys = new Set(mine.map((g) => refKey(g.view)));
    const spend = this.planSpend(world, parents, mineKeys, clock);
    const owned = new Set(
      world.routes.filter((r) => firstParentIn(parents.get(routeKeyOf(r)), mineKeys)).map(routeKeyOf),
    );
    const qualities = this.decideQuality(world.routes, owned, statuses, now);
    const autoShadow = autoShadowSet(world.routes, qualities, statuses);
    const outcomes: GatewayOutcome[] = [];
    const snapshot = this.deps.quality?.snapshot() ?? NO_QUALITY_SOURCE;
    const learning = learningEvidence(snapshot);
    for (const g of mine)
      outcomes.push(await this.program(g.object, g.view, { world, parents, autoShadow, learning }, secrets));
    this.targets = qualityTargets(outcomes, owned);
    this.programmed = outcomes.map((o) => o.owner).filter((o) => o.uid !== "");
    const plan = statusPlan({
      objects,
      outcomes,
      allGateways: views.map((g) => g.view),
      defaults,
      parents,
      controllerName: this.deps.controllerName,
      installNamespace: this.deps.namespace,
      namespaces: world.namespaces,
      now,
      quality: plannedQuality({
        routes: world.routes,
        qualities,
        statuses,
        now,
        learned: learnedInputs(outcomes, snapshot),
      }),
      budgets: spend.budgets,
    });
    await this.writeStatuses(plan);
    this.deps.metrics.reconcileDuration.observe((performance.now() - started) / 1000);
    const failed = outcomes.filter((o) => o.writeError !== null);
    if (failed.length > 0)
      throw new Error(
        `failed to write the router config of ${failed.map((o) => refKey(o.compiled.gateway)).join(", ")}`,
      );
    if (mine.length === 0)
      this.deps.logger.warn({ controllerName: this.deps.controllerName }, "Found no ModelGateway for this controller");
    this.deps.metrics.lastSuccess.set(Date.now() / 1000);
  }

  /** The referenced Secrets' values: read by name when their resourceVersion changed, the others dropped. */
  private async readSecrets(read: Omit<PolicyWorld, "secrets">): Promise<HeldSecret[]> {
    const refs = referencedSecrets(read.providers, read.clientKeys ?? []);
    // Set before anything is awaited: an event of a Secret not in here arrived after the caches were read, so
    // whatever references it arrived later too, and its own event queued a reconcile.
    this.referenced = new Set(refs.map(secretKey));
    try {
      return await this.secretValues.resolve(refs, secretVersions(this.deps.caches.secrets()));
    } finally {
      this.deps.metrics.secretsHeld.set(this.secretValues.entries().length);
    }
  }

  /**
   * Whether an event of this Secret may change what the operator writes: a Secret the objects reference, or a
   * gateway's own credentials Secret (a deleted one is written again). Others' events queue no reconcile.
   */
  watchesSecret(namespace: string, name: string): boolean {
    if (this.referenced.has(secretKey({ namespace, name }))) return true;
    return this.programmed.some((g) => g.namespace === namespace && credentialsSecretName(g.name) === name);
  }

  /** The gateways this operator programs (as of the last reconcile), which own its leader Lease. */
  gatewayOwners(): GatewayOwner[] {
    return this.programmed;
  }

  /** Each route's status as read, with this controller's own quality writes the cache has not shown yet. */
  private routeStatuses(objects: Candidate[]): Map<string, CurrentQuality | undefined> {
    const out = new Map<string, CurrentQuality | undefined>();
    for (const c of objects.filter((x) => x.kind === "ModelRoute")) {
      const key = objectKey(c);
      const { current, stale } = overlay(c.obj.status, this.written.get(key));
      if (!stale) this.written.delete(key);
      out.set(key, current);
    }
    return out;
  }

  /** status.budget of the budgeted routes and keys whose top-level status is ours; remembers what to read next. */
  private planSpend(world: PolicyWorld, parents: Map<string, ParentRef[]>, mine: Set<string>, now: Date) {
    const snapshot = this.deps.spend?.snapshot() ?? NO_SPEND;
    const spend = spendPlan({ routes: world.routes, clientKeys: world.clientKeys ?? [], parents, mine, snapshot, now });
    this.spendTargetList = spend.targets;
    return spend;
  }

  /** The routes and keys the spend reader reads: with a budget, their top-level status written by this controller. */
  spendTargets(): SpendTarget[] {
    return this.spendTargetList;
  }

  /** The routes the quality reader reads: programmed, with their top-level status written by this controller. */
  qualityTargets(): QualityTarget[] {
    return this.targets;
  }

  /** Each owned route's QualityMet verdict and auto shadow decision on the reader's latest snapshot. */
  private decideQuality(
    routes: ModelRoute[],
    owned: Set<string>,
    statuses: Map<string, CurrentQuality | undefined>,
    now: string,
  ): Map<string, RouteQuality> {
    const snapshot = this.deps.quality?.snapshot() ?? NO_QUALITY_SOURCE;
    const out = new Map<string, RouteQuality>();
    for (const route of routes) {
      const key = routeKeyOf(route);
      if (!owned.has(key)) continue;
      const q = decideRoute({
        route,
        current: statuses.get(key),
        snapshot,
        streak: this.streaks.get(key) ?? { seq: 0, low: 0 },
        now,
        holdMs: this.deps.qualityHoldMs ?? DEFAULT_QUALITY_HOLD_MS,
      });
      this.streaks.set(key, q.decision.streak);
      out.set(key, q);
    }
    for (const key of this.streaks.keys()) if (!owned.has(key)) this.streaks.delete(key);
    return out;
  }

  /** Compiles one gateway on top of what it serves now (last known good) and writes its ConfigMap and Secret. */
  private async program(
    object: ModelGateway,
    view: GatewayView,
    input: {
      world: PolicyWorld;
      parents: Map<string, ParentRef[]>;
      autoShadow: ReadonlySet<string>;
      learning: ReadonlyMap<string, RouteEvidence>;
    },
    secrets: HeldSecret[],
  ): Promise<GatewayOutcome> {
    const { world, parents, autoShadow, learning } = input;
    const owner = { namespace: view.namespace, name: view.name, uid: object.metadata.uid ?? "" };
    let current: CurrentOutputs = { configMap: null, secret: null, configJson: null, credentials: {} };
    let compiled: GatewayCompile | null = null;
    // Used only when the gateway's Secret holds no feedback signing key (ADR 10) or client-key salt (issue 17)
    // yet: generated once, then kept.
    const fresh: Generated = {
      feedbackKey: randomBytes(32).toString("base64url"),
      salt: randomBytes(16).toString("hex"),
    };
    const keysWith = (salt: string) => ({ salt, digests: keyDigests(salt, world.clientKeys ?? [], valueIn(secrets)) });
    try {
      current = await this.deps.kube.currentOutputs(owner);
      const salt = keptSalt(current.credentials) ?? fresh.salt;
      compiled = compileGateway(view, world, parents, previousConfig(current.configJson), {
        autoShadow,
        keys: keysWith(salt),
        learning,
      });
      await this.writeOutputs(owner, compiled, secrets, current, { feedbackKey: fresh.feedbackKey, salt });
      return { compiled, owner, writeError: null };
    } catch (err) {
      // Redacted like a status message: the users' key values and those the gateway's Secret holds now.
      const redact = [...secretValues(secrets), ...Object.values(current.credentials), fresh.feedbackKey];
      const writeError = describeWriteError(err, redact);
      this.deps.logger.error({ gateway: refKey(view), error: writeError }, "Failed to program gateway");
      compiled ??= compileGateway(view, world, parents, null, { autoShadow, learning, keys: keysWith(fresh.salt) });
      return { compiled, owner, writeError };
    }
  }

  private async writeOutputs(
    owner: GatewayOwner,
    compiled: GatewayCompile,
    secrets: HeldSecret[],
    current: CurrentOutputs,
    own: Generated,
  ): Promise<void> {
    const { kube, logger, metrics } = this.deps;
    const { result } = compiled;
    const values = credentialValues(result, secrets, current.credentials);
    values[FEEDBACK_KEY_CREDENTIAL] = current.credentials[FEEDBACK_KEY_CREDENTIAL] || own.feedbackKey;
    // Kept once the gateway has had a client key, so re-adding keys later does not change every hash.
    // `own.salt` is the kept one when there is one (the config was compiled with it).
    if (result.config.clientKeys || keptSalt(current.credentials)) values[CLIENT_KEY_SALT_CREDENTIAL] = own.salt;
    // The Secret first: a router must never see a config whose credentials are not there yet.
    const wroteSecret = await kube.ensureSecret(owner, values, current);
    const wroteConfig = await kube.ensureConfigMap(owner, JSON.stringify(result.config), result.config.hash, current);
    if (wroteSecret) metrics.writes.inc({ object: "Secret" });
    if (wroteConfig) {
      metrics.writes.inc({ object: "ConfigMap" });
      logger.info(
        {
          gateway: refKey(owner),
          hash: result.config.hash,
          routes: result.config.routes.length,
          providers: result.config.providers.length,
        },
        "Applied router ConfigMap",
      );
    }
    const gateway = refKey(owner);
    if (this.lastHash.get(gateway) !== result.config.hash) {
      metrics.configInfo.set({ gateway, hash: result.config.hash }, 1);
      const before = this.lastHash.get(gateway);
      if (before !== undefined) metrics.configInfo.remove({ gateway, hash: before });
      this.lastHash.set(gateway, result.config.hash);
    }
  }

  private async writeStatuses(plan: StatusPlan[]): Promise<void> {
    this.unseen.retain(new Set(plan.map((p) => objectKey(p.candidate))));
    const jobs = plan.map((p) => async () => {
      const current = p.candidate.obj.status as ObjectStatus | undefined;
      if (sameStatus(current, p.status)) return;
      const key = objectKey(p.candidate);
      const version = p.candidate.obj.metadata?.resourceVersion;
      if (this.unseen.pending(key, version, p.status)) return;
      await this.deps.kube.patchStatus(p.candidate.kind, p.candidate.namespace, p.candidate.name, p.patch);
      this.unseen.wrote(key, version, p.status);
      this.deps.metrics.writes.inc({ object: p.candidate.kind });
      if (p.candidate.kind === "ModelRoute" && p.status.rollout) {
        const before = canonical(qualityView(current));
        this.written.set(objectKey(p.candidate), { before, after: qualityView(p.status) });
      }
      await this.emitEvents(p.candidate, p.status);
      for (const e of p.events ?? []) await this.record(p.candidate, e);
    });
    const errors = await runLimited(jobs, this.deps.statusConcurrency ?? 32);
    if (errors.length > 0) throw new Error(`${errors.length} status write(s) failed`, { cause: errors[0] });
  }

  private async record(c: Candidate, e: PlannedEvent): Promise<void> {
    const uid = c.obj.metadata?.uid;
    await this.deps.kube
      .event({ kind: c.kind, namespace: c.namespace, name: c.name, ...(uid ? { uid } : {}), ...e })
      .catch((err: unknown) => {
        this.deps.logger.warn({ err, kind: c.kind, namespace: c.namespace, name: c.name }, "Failed to record Event");
      });
    this.deps.logger.info({ namespace: c.namespace, name: c.name, reason: e.reason }, "Recorded auto shadow Event");
  }

  /**
   * An Event when an object's Ready condition flips, and for any new failure. A first-time Ready=True is not an
   * Event (the status says so; at 1,000 objects it would double the writes of a cold start).
   */
  private async emitEvents(c: Candidate, status: ObjectStatus): Promise<void> {
    const ready = status.conditions.find((x) => x.type === "Ready");
    if (
      !ready ||
      !worthAnEvent(
        c.obj.status?.conditions?.find((x) => x.type === "Ready"),
        ready,
      )
    )
      return;
    await this.deps.kube
      .event({
        kind: c.kind,
        namespace: c.namespace,
        name: c.name,
        ...(c.obj.metadata?.uid ? { uid: c.obj.metadata.uid } : {}),
        type: ready.status === "True" ? "Normal" : "Warning",
        reason: ready.reason,
        message: ready.message,
      })
      .catch((err: unknown) => {
        this.deps.logger.warn({ err, kind: c.kind, namespace: c.namespace, name: c.name }, "Failed to record Event");
      });
  }
}

/**
 * The values of the credentials a gateway's config names, from the users' Secrets; a last-good route's provider
 * may be gone, and then its key keeps the value the gateway's Secret holds now.
 */
function credentialValues(
  result: GatewayCompile["result"],
  secrets: HeldSecret[],
  current: Record<string, string>,
): Record<string, string> {
  const values: Record<string, string> = {};
  for (const key of result.carriedCredentialKeys) if (current[key] !== undefined) values[key] = current[key];
  for (const c of result.credentials) {
    const s = secrets.find((x) => x.metadata.namespace === c.namespace && x.metadata.name === c.secretName);
    const b64 = s?.data[c.secretKey];
    if (b64 !== undefined) values[c.key] = Buffer.from(b64, "base64").toString("utf8");
  }
  return values;
}

function firstParentIn(refs: ParentRef[] | undefined, keys: Set<string>): boolean {
  const first = refs?.[0];
  return first !== undefined && keys.has(refKey(first));
}

/**
 * Routes programmed as shadow whatever their spec says: those this controller decided to shadow, and those whose
 * status (written by their first parent's controller) says so for their current generation.
 */
function autoShadowSet(
  routes: ModelRoute[],
  qualities: Map<string, RouteQuality>,
  statuses: Map<string, CurrentQuality | undefined>,
): Set<string> {
  const out = new Set<string>();
  for (const r of routes) {
    const key = routeKeyOf(r);
    const q = qualities.get(key);
    if (q ? q.decision.shadowed : shadowedByStatus(r, statuses.get(key))) out.add(key);
  }
  return out;
}

/** The programmed routes of this controller's gateways whose top-level status it writes. */
function qualityTargets(outcomes: GatewayOutcome[], owned: Set<string>): QualityTarget[] {
  return outcomes.flatMap((o) =>
    o.compiled.result.config.routes.flatMap((r) => {
      const key = `ModelRoute/${r.source.namespace}/${r.source.name}`;
      if (!owned.has(key)) return [];
      const learningWindow = r.learning && r.evaluation ? r.learning.window : null;
      return [{ key, route: r.name, namespace: o.owner.namespace, shadow: r.rollout === "shadow", learningWindow }];
    }),
  );
}

interface PlannedQualityInput {
  routes: ModelRoute[];
  qualities: Map<string, RouteQuality>;
  statuses: Map<string, CurrentQuality | undefined>;
  now: string;
  /** The learned tables compiled from fresh evidence in this reconcile, and the range read, by route key. */
  learned: Map<string, { summary: LearnedSummary; window: string }>;
}

/** The quality fields (and any auto shadow Event) of each owned route. */
function plannedQuality(
  i: PlannedQualityInput,
): Map<string, { fields: ReturnType<typeof qualityFields>; event: PlannedEvent | null }> {
  const out = new Map<string, { fields: ReturnType<typeof qualityFields>; event: PlannedEvent | null }>();
  for (const r of i.routes) {
    const key = routeKeyOf(r);
    const q = i.qualities.get(key);
    if (!q) continue;
    const k = knobsOf(r);
    const learned = { learns: r.spec.learning !== undefined, fresh: i.learned.get(key) ?? null };
    const at = { now: i.now, generation: k.generation };
    const fields = qualityFields(q, i.statuses.get(key), k.hasEvaluation, at, learned);
    out.set(key, { fields, event: q.decision.event });
  }
  return out;
}

/** The learned summaries the gateways' compiles computed, with the range their evidence was read over. */
function learnedInputs(
  outcomes: GatewayOutcome[],
  snapshot: QualitySnapshot,
): Map<string, { summary: LearnedSummary; window: string }> {
  const out = new Map<string, { summary: LearnedSummary; window: string }>();
  for (const o of outcomes)
    for (const [key, summary] of Object.entries(o.compiled.result.learned)) {
      const window = snapshot.learning.get(key)?.range;
      if (window !== undefined && !out.has(key)) out.set(key, { summary, window });
    }
  return out;
}

/** Each learning route's evidence as last read (ADR 12): an input of the compile, like auto shadow. */
function learningEvidence(snapshot: QualitySnapshot): Map<string, RouteEvidence> {
  return new Map([...snapshot.learning].map(([key, r]) => [key, r.evidence]));
}

/** The config a gateway serves now, when it passes the router's own gate (else nothing is carried over). */
function previousConfig(json: string | null): RouterConfig | null {
  if (json === null) return null;
  try {
    return parseRouterConfig(JSON.parse(json) as unknown);
  } catch {
    return null;
  }
}

/** Ready flipped, or a first status that is not Ready (a first-time Ready=True is no news). */
function worthAnEvent(before: Condition | undefined, ready: Condition): boolean {
  if (before === undefined) return ready.status !== "True";
  return before.status !== ready.status;
}

/** The parents of every route and client key, by object key. */
function attachments(world: PolicyWorld, defaults: GatewayView[]): Map<string, ParentRef[]> {
  return new Map([...routeParents(world.routes, defaults), ...keyParents(world.clientKeys ?? [], defaults)]);
}

/** Values a gateway's Secret keeps once generated (when it holds none yet: these new ones). */
interface Generated {
  feedbackKey: string;
  /** The client-key salt: 16 random bytes, hex. */
  salt: string;
}

/** The client-key salt the gateway's Secret holds, when it is one this operator could have written. */
function keptSalt(credentials: Record<string, string>): string | null {
  const salt = credentials[CLIENT_KEY_SALT_CREDENTIAL];
  return salt !== undefined && /^[0-9a-f]{32,128}$/.test(salt) ? salt : null;
}

/** Reads a key of a cached Secret, decoded (undefined when the Secret or key is not there). */
function valueIn(secrets: readonly HeldSecret[]) {
  return (namespace: string, name: string, key: string): string | undefined => {
    const s = secrets.find((x) => x.metadata.namespace === namespace && x.metadata.name === name);
    const b64 = s?.data[key];
    return b64 === undefined ? undefined : Buffer.from(b64, "base64").toString("utf8");
  };
}

/**
 * Every value of the referenced Secrets, decoded (the only Secret values the operator holds): redacted from
 * anything it writes to a status or a log.
 */
function secretValues(secrets: readonly HeldSecret[]): string[] {
  return secrets.flatMap((s) => Object.values(s.data).map((v) => Buffer.from(v, "base64").toString("utf8")));
}
