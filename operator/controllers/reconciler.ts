/**
 * The one reconcile loop: every ModelProvider, ModelRoute and referenced Secret feeds one compiled router config.
 * Level-based: whatever event arrived, it reads the informer caches, compiles with the pure compiler, applies the
 * two outputs (skipping no-op writes), then writes each object's status once (skipping unchanged ones).
 */
import type { Logger } from "pino";
import type { ModelProvider, ModelRoute, SecretInfo } from "../api/v1alpha1/types.js";
import type { Condition } from "../api/v1alpha1/conditions.js";
import { validateProvider, validateRoute } from "../api/v1alpha1/validate.js";
import { compile, type CompileResult } from "../compile/compile.js";
import type { OperatorMetrics } from "../metrics.js";
import { describeWriteError, type OperatorKube } from "./kube.js";
import { computeStatus, sameStatus, type ObjectStatus } from "./status.js";

/** A cached object as the informers hold it (shape checked by validation). */
export interface CachedObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    creationTimestamp?: Date | string;
  };
  spec?: unknown;
  status?: { conditions?: Condition[]; observedGeneration?: number; candidateCount?: number };
}

export interface CachedSecret {
  metadata?: { name?: string; namespace?: string };
  data?: Record<string, string>;
}

export interface Caches {
  providers(): CachedObject[];
  routes(): CachedObject[];
  secrets(): CachedSecret[];
}

export interface ReconcilerDeps {
  kube: OperatorKube;
  caches: Caches;
  /** Namespace of the output ConfigMap and Secret. */
  namespace: string;
  logger: Logger;
  metrics: OperatorMetrics;
  now: () => Date;
  /** Parallel status writes. */
  statusConcurrency?: number;
}

interface Candidate {
  kind: "ModelProvider" | "ModelRoute";
  obj: CachedObject;
  namespace: string;
  name: string;
  invalid: string[];
}

export class Reconciler {
  private lastHash = "";

  constructor(private readonly deps: ReconcilerDeps) {}

  async reconcile(): Promise<void> {
    const started = performance.now();
    // One read of the caches per reconcile: the Secrets compiled against are the ones whose values are written.
    const secrets = this.deps.caches.secrets();
    const { objects, input } = this.readCaches(secrets);
    const result = compile(input);
    const writeError = await this.writeOutputs(result, secrets).then(
      () => null,
      (err: unknown) => err,
    );
    await this.writeStatuses(
      objects,
      result,
      writeError === null ? null : describeWriteError(writeError, secretValues(secrets)),
    );
    this.deps.metrics.reconcileDuration.observe((performance.now() - started) / 1000);
    if (writeError !== null) throw new Error("failed to write the router config", { cause: writeError });
    this.deps.metrics.lastSuccess.set(Date.now() / 1000);
  }

  private readCaches(cachedSecrets: CachedSecret[]): { objects: Candidate[]; input: Parameters<typeof compile>[0] } {
    const providers: ModelProvider[] = [];
    const routes: ModelRoute[] = [];
    const rejectedProviders: { namespace: string; name: string }[] = [];
    const objects: Candidate[] = [];
    for (const [kind, list] of [
      ["ModelProvider", this.deps.caches.providers()],
      ["ModelRoute", this.deps.caches.routes()],
    ] as const) {
      for (const obj of list) {
        const c = this.validate(kind, obj, providers, routes);
        objects.push(c);
        if (kind === "ModelProvider" && c.invalid.length > 0)
          rejectedProviders.push({ namespace: c.namespace, name: c.name });
      }
    }
    const secrets: SecretInfo[] = cachedSecrets.flatMap((s) =>
      s.metadata?.name && s.metadata.namespace
        ? [{ namespace: s.metadata.namespace, name: s.metadata.name, keys: Object.keys(s.data ?? {}) }]
        : [],
    );
    return { objects, input: { providers, routes, secrets, rejectedProviders } };
  }

  private validate(
    kind: Candidate["kind"],
    obj: CachedObject,
    providers: ModelProvider[],
    routes: ModelRoute[],
  ): Candidate {
    const namespace = obj.metadata?.namespace ?? "default";
    const name = obj.metadata?.name ?? "";
    // Validate the spec as written (without status); creationTimestamp as a string for precedence.
    const plain = {
      apiVersion: obj.apiVersion,
      kind,
      metadata: { ...obj.metadata, creationTimestamp: timestamp(obj.metadata?.creationTimestamp) },
      spec: obj.spec,
    };
    const result = kind === "ModelProvider" ? validateProvider(plain) : validateRoute(plain);
    if (!result.ok)
      return { kind, obj, namespace, name, invalid: result.errors.map((e) => `${e.field}: ${e.message}`) };
    if (result.object.kind === "ModelProvider") providers.push(result.object);
    else routes.push(result.object);
    return { kind, obj, namespace, name, invalid: [] };
  }

  private async writeOutputs(result: CompileResult, secrets: CachedSecret[]): Promise<void> {
    const { kube, namespace, logger, metrics } = this.deps;
    const values: Record<string, string> = {};
    for (const c of result.credentials) {
      const s = secrets.find((x) => x.metadata?.namespace === c.namespace && x.metadata.name === c.secretName);
      const b64 = s?.data?.[c.secretKey];
      if (b64 !== undefined) values[c.key] = Buffer.from(b64, "base64").toString("utf8");
    }
    // The Secret first: a router must never see a config whose credentials are not there yet.
    const wroteSecret = await kube.ensureSecret(namespace, values);
    const json = JSON.stringify(result.config);
    const wroteConfig = await kube.ensureConfigMap(namespace, json, result.config.hash);
    if (wroteSecret) metrics.writes.inc({ object: "Secret" });
    if (wroteConfig) {
      metrics.writes.inc({ object: "ConfigMap" });
      logger.info(
        {
          namespace,
          hash: result.config.hash,
          routes: result.config.routes.length,
          providers: result.config.providers.length,
        },
        "Applied router ConfigMap",
      );
    }
    if (this.lastHash !== result.config.hash) {
      metrics.configInfo.reset();
      metrics.configInfo.set({ hash: result.config.hash }, 1);
      this.lastHash = result.config.hash;
    }
  }

  private async writeStatuses(objects: Candidate[], result: CompileResult, writeError: string | null): Promise<void> {
    const now = this.deps.now().toISOString();
    const jobs = objects.map((c) => async () => {
      const status = computeStatus({
        kind: c.kind,
        namespace: c.namespace,
        name: c.name,
        generation: c.obj.metadata?.generation ?? 0,
        previous: c.obj.status?.conditions ?? [],
        invalid: c.invalid,
        result,
        writeError,
        now,
      });
      if (sameStatus(c.obj.status as ObjectStatus | undefined, status)) return;
      await this.deps.kube.patchStatus(c.kind, c.namespace, c.name, status);
      this.deps.metrics.writes.inc({ object: c.kind });
      await this.emitEvents(c, status);
    });
    await runLimited(jobs, this.deps.statusConcurrency ?? 32);
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

/** Ready flipped, or a first status that is not Ready (a first-time Ready=True is no news). */
function worthAnEvent(before: Condition | undefined, ready: Condition): boolean {
  if (before === undefined) return ready.status !== "True";
  return before.status !== ready.status;
}

function timestamp(t: Date | string | undefined): string | undefined {
  if (t === undefined) return undefined;
  return t instanceof Date ? t.toISOString() : t;
}

/** Runs jobs with at most `limit` in flight; rejects with the first error after all have settled. */
async function runLimited(jobs: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++];
      if (job) await job().catch((err: unknown) => errors.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  if (errors.length > 0) throw new Error(`${errors.length} status write(s) failed`, { cause: errors[0] });
}

/** Every value of the cached Secrets, decoded: redacted from anything the operator writes to a status. */
function secretValues(secrets: readonly CachedSecret[]): string[] {
  return secrets.flatMap((s) => Object.values(s.data ?? {}).map((v) => Buffer.from(v, "base64").toString("utf8")));
}
