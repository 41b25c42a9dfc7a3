/**
 * The CRDs in crds/ are the source of truth for the API. This module reads their OpenAPI schemas so the CLI
 * and the operator validate objects with exactly the rules the API server applies (schema and CEL).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { packageRoot } from "../../../router/config/package-root.js";

export const API_GROUP = "routewise.dev";
export const API_VERSION = "v1alpha1";
export const GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;
export const KINDS = ["ModelProvider", "ModelRoute", "ModelGateway", "ModelReferenceGrant", "ModelClientKey"] as const;
export type Kind = (typeof KINDS)[number];

export const CRD_FILES: Record<Kind, string> = {
  ModelProvider: "routewise.dev_modelproviders.yaml",
  ModelRoute: "routewise.dev_modelroutes.yaml",
  ModelGateway: "routewise.dev_modelgateways.yaml",
  ModelReferenceGrant: "routewise.dev_modelreferencegrants.yaml",
  ModelClientKey: "routewise.dev_modelclientkeys.yaml",
};

/** An OpenAPI v3 schema node as written in a CRD (structural schema plus x-kubernetes-* extensions). */
export interface SchemaNode {
  type?: string;
  description?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean | number;
  "x-kubernetes-validations"?: { rule: string; message?: string }[];
  [key: string]: unknown;
}

const cache = new Map<Kind, SchemaNode>();

/** The openAPIV3Schema of a kind's served version, as written in the CRD. */
export function crdSchema(kind: Kind): SchemaNode {
  const hit = cache.get(kind);
  if (hit) return hit;
  const text = readFileSync(join(packageRoot(), "crds", CRD_FILES[kind]), "utf8");
  const crd = parse(text) as {
    spec: { versions: { name: string; schema: { openAPIV3Schema: SchemaNode } }[] };
  };
  const version = crd.spec.versions.find((v) => v.name === API_VERSION);
  if (!version) throw new Error(`CRD ${CRD_FILES[kind]} has no version ${API_VERSION}`);
  cache.set(kind, version.schema.openAPIV3Schema);
  return version.schema.openAPIV3Schema;
}

/**
 * Converts a CRD schema node to plain JSON Schema (draft 7) the way the API server interprets it: unknown
 * fields are not allowed (the server prunes them; we reject them so typos surface), OpenAPI's boolean
 * exclusiveMinimum becomes numeric, and x-kubernetes-* extensions are dropped (CEL is evaluated separately).
 */
export function toJsonSchema(node: SchemaNode, isRoot = true): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith("x-kubernetes-")) continue;
    out[key] = value;
  }
  if (node.exclusiveMinimum === true && node.minimum !== undefined) {
    out["exclusiveMinimum"] = node.minimum;
    delete out["minimum"];
  }
  if (node.properties) {
    out["properties"] = Object.fromEntries(
      Object.entries(node.properties).map(([k, v]) => [
        k,
        k === "metadata" && isRoot ? { type: "object" } : toJsonSchema(v, false),
      ]),
    );
    if (node.additionalProperties === undefined) out["additionalProperties"] = false;
  }
  if (typeof node.additionalProperties === "object")
    out["additionalProperties"] = toJsonSchema(node.additionalProperties, false);
  if (node.items) out["items"] = toJsonSchema(node.items, false);
  return out;
}
