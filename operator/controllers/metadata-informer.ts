/**
 * A metadata-only informer, like controller-runtime's metadata watches (client-go's metadata client): the API
 * server answers the list as a PartialObjectMetadataList and each watch event as a PartialObjectMetadata, so an
 * object's content (a Secret's data) never reaches the operator through its watch. client-node's ListWatch keeps
 * the cache, resumes the watch from the last resourceVersion and lists again after 410 Gone; this hands it a list
 * function and a Watch that ask for metadata only, and keeps only names and versions of what arrives.
 *
 * Unlike client-go, the Accept headers name no full-object fallback: an API server that cannot answer with
 * metadata refuses (406) rather than sending the objects, and the watch is retried like any failed one.
 */
import { request as httpRequest, type Agent } from "node:http";
import { request as httpsRequest } from "node:https";
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject } from "@kubernetes/client-node";
import { isRecord } from "../../router/config/json.js";

export const METADATA_LIST_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
export const METADATA_WATCH_ACCEPT = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

/** An object as the metadata cache holds it: what identifies it and its version, nothing else. */
export interface ObjectMetadata {
  apiVersion: "meta.k8s.io/v1";
  kind: "PartialObjectMetadata";
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string };
}

/** A failed metadata list: the API server's HTTP status and its message. */
export class MetadataListError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = "MetadataListError";
  }
}

/** A list+watch of `path` (e.g. /api/v1/namespaces/team-a/secrets) that holds only objects' metadata. */
export function makeMetadataInformer(kc: KubeConfig, path: string): ListWatch<ObjectMetadata> {
  return new ListWatch(path, new MetadataWatch(kc), () => listMetadata(kc, path), false);
}

/** Only the identifying fields and the version of an object (or of a PartialObjectMetadata), whatever it holds. */
export function metadataOf(obj: unknown): ObjectMetadata {
  const m = isRecord(obj) && isRecord(obj["metadata"]) ? obj["metadata"] : {};
  const text = (key: string): string | undefined => (typeof m[key] === "string" ? m[key] : undefined);
  const namespace = text("namespace");
  const uid = text("uid");
  const resourceVersion = text("resourceVersion");
  return {
    apiVersion: "meta.k8s.io/v1",
    kind: "PartialObjectMetadata",
    metadata: {
      name: text("name") ?? "",
      ...(namespace === undefined ? {} : { namespace }),
      ...(uid === undefined ? {} : { uid }),
      ...(resourceVersion === undefined ? {} : { resourceVersion }),
    },
  };
}

/** client-node's Watch, asking for metadata only and passing on only metadata (an ERROR event's Status as is). */
class MetadataWatch extends Watch {
  constructor(kc: KubeConfig) {
    super(withAccept(kc, METADATA_WATCH_ACCEPT));
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    return super.watch(
      path,
      queryParams,
      (phase: string, obj: unknown) => {
        const object = phase === "ERROR" ? obj : metadataOf(obj);
        callback(phase, object, { type: phase, object });
      },
      done,
    );
  }
}

/** One list of `path` as PartialObjectMetadataList, with the kubeconfig's server, TLS and credentials. */
export async function listMetadata(kc: KubeConfig, path: string): Promise<KubernetesListObject<ObjectMetadata>> {
  const body = await getJson(kc, path, METADATA_LIST_ACCEPT);
  if (!isRecord(body) || body["kind"] !== "PartialObjectMetadataList")
    throw new Error(`GET ${path} did not answer with a PartialObjectMetadataList`);
  const items = Array.isArray(body["items"]) ? body["items"] : [];
  const listMeta = isRecord(body["metadata"]) ? body["metadata"] : {};
  const resourceVersion = typeof listMeta["resourceVersion"] === "string" ? listMeta["resourceVersion"] : "";
  return {
    apiVersion: "meta.k8s.io/v1",
    kind: "PartialObjectMetadataList",
    metadata: { resourceVersion },
    items: items.map(metadataOf),
  };
}

/** A view of `kc` whose requests (the Watch's) carry this Accept header; `kc` itself is left alone. */
function withAccept(kc: KubeConfig, accept: string): KubeConfig {
  const view = Object.create(kc) as KubeConfig;
  Object.defineProperty(view, "applyToFetchOptions", {
    value: async (opts: Parameters<KubeConfig["applyToFetchOptions"]>[0]) => {
      const init = await kc.applyToFetchOptions(opts);
      return { ...init, headers: { ...headerRecord(init.headers), accept } };
    },
  });
  return view;
}

const LIST_TIMEOUT_MS = 60_000;

async function getJson(kc: KubeConfig, path: string, accept: string): Promise<unknown> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("No current cluster in the kubeconfig");
  const url = new URL(cluster.server + path);
  const init = await kc.applyToFetchOptions({});
  const headers = { ...headerRecord(init.headers), accept };
  const agent = init.agent as Agent | undefined;
  const request = url.protocol === "http:" ? httpRequest : httpsRequest;
  const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      url,
      { method: "GET", headers, timeout: LIST_TIMEOUT_MS, ...(agent ? { agent } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET ${path} timed out after ${LIST_TIMEOUT_MS} ms`)));
    req.on("error", reject);
    req.end();
  });
  if (answer.status !== 200)
    throw new MetadataListError(answer.status, `GET ${path}: HTTP ${answer.status}: ${statusMessage(answer.text)}`);
  return JSON.parse(answer.text) as unknown;
}

/** client-node's request headers (a node-fetch Headers, or a plain object) as a plain object, names lower-cased. */
function headerRecord(h: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof h !== "object" || h === null) return out;
  const pairs: Iterable<unknown> =
    Symbol.iterator in h && typeof h[Symbol.iterator] === "function" ? (h as Iterable<unknown>) : Object.entries(h);
  for (const pair of pairs)
    if (Array.isArray(pair) && typeof pair[0] === "string") out[pair[0].toLowerCase()] = String(pair[1]);
  return out;
}

/** The message of an API server Status body, else nothing (a body that is not a Status is not repeated). */
function statusMessage(body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    return isRecord(parsed) && typeof parsed["message"] === "string" ? parsed["message"] : "";
  } catch {
    return "";
  }
}
