/**
 * The operator's few writes to the API server, each idempotent: server-side apply of the two output objects
 * (skipped when their content is already what it should be), merge patches of status, and Events.
 */
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1ConfigMap,
  type V1OwnerReference,
  type V1Secret,
} from "@kubernetes/client-node";
import {
  configFromConfigMap,
  configMapContent,
  configMapName,
  credentialsSecretName,
} from "../../router/config/delivery.js";
import { isRecord } from "../../router/config/json.js";
import { API_GROUP, API_VERSION } from "../api/v1alpha1/crd-schema.js";
import type { HeldSecret } from "./secret-values.js";
import type { ObjectStatus } from "./status.js";

export const FIELD_MANAGER = "routewise-operator";
export const MANAGED_LABELS = {
  "app.kubernetes.io/managed-by": FIELD_MANAGER,
  "app.kubernetes.io/part-of": "routewise",
};

/** Labels the outputs with the gateway they belong to. */
export const GATEWAY_LABEL = "routewise.dev/gateway";

export const PLURALS = {
  ModelProvider: "modelproviders",
  ModelRoute: "modelroutes",
  ModelGateway: "modelgateways",
  ModelReferenceGrant: "modelreferencegrants",
  ModelClientKey: "modelclientkeys",
} as const;

/** A gateway's outputs as read at the start of its reconcile. */
export interface CurrentOutputs {
  configMap: V1ConfigMap | null;
  secret: V1Secret | null;
  /** The config the ConfigMap holds (config.json or config.json.gz), or null. */
  configJson: string | null;
  /** The Secret's values, decoded. */
  credentials: Record<string, string>;
}

/** The gateway that owns a ConfigMap and Secret (ownerReferences: deleting it deletes them). */
export interface GatewayOwner {
  namespace: string;
  name: string;
  uid: string;
}

export interface EventInput {
  kind: "ModelProvider" | "ModelRoute" | "ModelGateway" | "ModelClientKey";
  namespace: string;
  name: string;
  uid?: string;
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

export class OperatorKube {
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  private readonly objects: KubernetesObjectApi;

  constructor(readonly kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.objects = KubernetesObjectApi.makeApiClient(kc);
  }

  /**
   * Applies a gateway's router ConfigMap unless it already holds exactly this config. The config goes in as
   * compact JSON under config.json, or gzipped under binaryData config.json.gz when it is too large (see
   * configMapContent). Owned by the gateway, so deleting the gateway deletes it. `current` is what
   * currentOutputs() read this reconcile. Returns whether it wrote.
   */
  async ensureConfigMap(
    owner: GatewayOwner,
    configJson: string,
    hash: string,
    current: CurrentOutputs,
  ): Promise<boolean> {
    const name = configMapName(owner.name);
    const namespace = owner.namespace;
    const cm = current.configMap;
    if (cm && current.configJson === configJson && ownedBy(cm, owner)) return false;
    const body: V1ConfigMap = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name,
        namespace,
        labels: { ...MANAGED_LABELS, [GATEWAY_LABEL]: owner.name },
        annotations: { "routewise.dev/config-hash": hash },
        ownerReferences: [ownerReference(owner)],
      },
      ...configMapContent(configJson),
    };
    await this.objects.patch(body, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    return true;
  }

  /** Applies a gateway's credentials Secret unless it already holds exactly these keys and values. */
  async ensureSecret(owner: GatewayOwner, values: Record<string, string>, current: CurrentOutputs): Promise<boolean> {
    const name = credentialsSecretName(owner.name);
    const namespace = owner.namespace;
    const data = Object.fromEntries(
      Object.entries(values).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("base64")]),
    );
    const secret = current.secret;
    if (secret && sameData(secret.data ?? {}, data) && ownedBy(secret, owner)) return false;
    const body: V1Secret = {
      apiVersion: "v1",
      kind: "Secret",
      type: "Opaque",
      metadata: {
        name,
        namespace,
        labels: { ...MANAGED_LABELS, [GATEWAY_LABEL]: owner.name },
        ownerReferences: [ownerReference(owner)],
      },
      data,
    };
    await this.objects.patch(body, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    return true;
  }

  /** What a gateway serves now: its ConfigMap and Secret (null when absent), their config and key values. */
  async currentOutputs(owner: GatewayOwner): Promise<CurrentOutputs> {
    const namespace = owner.namespace;
    const cm = await this.readOrNull(() =>
      this.core.readNamespacedConfigMap({ name: configMapName(owner.name), namespace }),
    );
    const secret = await this.readOrNull(() =>
      this.core.readNamespacedSecret({ name: credentialsSecretName(owner.name), namespace }),
    );
    const credentials = Object.fromEntries(
      Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
    );
    return { configMap: cm, secret, configJson: cm ? configFromConfigMap(cm) : null, credentials };
  }

  /** A user's Secret by name (one a provider or client key references), or null when there is none. */
  async readSecret(ref: { namespace: string; name: string }): Promise<HeldSecret | null> {
    const s = await this.readOrNull(() => this.core.readNamespacedSecret(ref));
    if (!s) return null;
    return {
      metadata: { ...ref, resourceVersion: s.metadata?.resourceVersion ?? "" },
      data: s.data ?? {},
    };
  }

  async patchStatus(
    kind: keyof typeof PLURALS,
    namespace: string,
    name: string,
    status: Partial<ObjectStatus> | Record<string, unknown>,
  ): Promise<void> {
    await this.custom.patchNamespacedCustomObjectStatus(
      { group: API_GROUP, version: API_VERSION, namespace, plural: PLURALS[kind], name, body: { status } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  }

  async event(e: EventInput): Promise<void> {
    const now = new Date();
    await this.core.createNamespacedEvent({
      namespace: e.namespace,
      body: {
        metadata: { generateName: `${e.name}.`, namespace: e.namespace },
        involvedObject: {
          apiVersion: `${API_GROUP}/${API_VERSION}`,
          kind: e.kind,
          name: e.name,
          namespace: e.namespace,
          ...(e.uid ? { uid: e.uid } : {}),
        },
        type: e.type,
        reason: e.reason,
        message: e.message.slice(0, 1024),
        source: { component: FIELD_MANAGER },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  }

  private async readOrNull<T>(read: () => Promise<T>): Promise<T | null> {
    try {
      return await read();
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }
}

/**
 * The ownerReference naming a gateway: what the operator writes for it goes with it. An object has at most one
 * controller reference, so one owned by several gateways (the leader Lease) names none as its controller.
 */
export function ownerReference(owner: GatewayOwner, controller = true): V1OwnerReference {
  return {
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: "ModelGateway",
    name: owner.name,
    uid: owner.uid,
    controller,
    blockOwnerDeletion: false,
  };
}

function ownedBy(obj: { metadata?: { ownerReferences?: { uid: string }[] } }, owner: GatewayOwner): boolean {
  return (obj.metadata?.ownerReferences ?? []).some((r) => r.uid === owner.uid);
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiException && err.code === 404;
}

export function isConflict(err: unknown): boolean {
  return err instanceof ApiException && err.code === 409;
}

function sameData(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

/**
 * A short, user-facing description of a failed write for a status condition: the API server's HTTP status and
 * message (e.g. `HTTP 403: configmaps "routewise-router" is forbidden: ...`), or the error message. Every string
 * in `redact` (the credential values being written) is replaced, so no key can reach a status.
 */
export function describeWriteError(err: unknown, redact: readonly string[] = []): string {
  let text: string;
  if (err instanceof ApiException) {
    const message = apiMessage(err.body);
    text = `HTTP ${err.code}${message === "" ? "" : `: ${message}`}`;
  } else {
    text = err instanceof Error ? err.message : String(err);
  }
  for (const secret of redact) if (secret.length > 0) text = text.split(secret).join("[redacted]");
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

/** The `message` of an API server Status body (a string of JSON, or parsed), else the body as it is. */
function apiMessage(body: unknown): string {
  if (typeof body === "string") {
    try {
      const parsed: unknown = JSON.parse(body);
      return isRecord(parsed) && typeof parsed["message"] === "string" ? parsed["message"] : body;
    } catch {
      return body;
    }
  }
  return isRecord(body) && typeof body["message"] === "string" ? body["message"] : "";
}
