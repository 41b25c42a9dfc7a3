/**
 * Validates routewise.dev objects against their CRD schemas, as the API server would: OpenAPI
 * schema with defaults applied, then every x-kubernetes-validations CEL rule. Used by the CLI (no cluster)
 * and by the operator as a second line of defence.
 */
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { parse as parseCel } from "@marcbachmann/cel-js";
import { isRecord, schemaFieldError } from "../../../router/config/json.js";
import { crdSchema, GROUP_VERSION, toJsonSchema, type Kind, type SchemaNode } from "./crd-schema.js";
import type { ModelClientKey, ModelGateway, ModelProvider, ModelReferenceGrant, ModelRoute } from "./types.js";

/** A field-level validation error. */
export interface FieldError {
  field: string;
  message: string;
}

export type ValidationResult<T> = { ok: true; object: T } | { ok: false; errors: FieldError[] };

// ajv-formats is CommonJS with a default export; under NodeNext its namespace import is the function.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ allErrors: true, strict: false, useDefaults: true }));
const validators = new Map<Kind, ValidateFunction>();

function validatorFor(kind: Kind): ValidateFunction {
  let v = validators.get(kind);
  if (!v) {
    v = ajv.compile(toJsonSchema(crdSchema(kind)));
    validators.set(kind, v);
  }
  return v;
}

export function validateProvider(obj: unknown): ValidationResult<ModelProvider> {
  return validateKind<ModelProvider>("ModelProvider", obj);
}

export function validateRoute(obj: unknown): ValidationResult<ModelRoute> {
  return validateKind<ModelRoute>("ModelRoute", obj);
}

export function validateGateway(obj: unknown): ValidationResult<ModelGateway> {
  return validateKind<ModelGateway>("ModelGateway", obj);
}

export function validateGrant(obj: unknown): ValidationResult<ModelReferenceGrant> {
  return validateKind<ModelReferenceGrant>("ModelReferenceGrant", obj);
}

export function validateClientKey(obj: unknown): ValidationResult<ModelClientKey> {
  return validateKind<ModelClientKey>("ModelClientKey", obj);
}

/** Validates (a deep copy of) obj; on success returns it with schema defaults applied. */
export function validateKind<T>(kind: Kind, obj: unknown): ValidationResult<T> {
  const copy: unknown = structuredClone(obj);
  const envelope = checkEnvelope(kind, copy);
  if (envelope.length > 0) return { ok: false, errors: envelope };
  const validate = validatorFor(kind);
  if (!validate(copy)) return { ok: false, errors: (validate.errors ?? []).map(schemaFieldError) };
  const celErrors = runCel(crdSchema(kind), copy, "");
  if (celErrors.length > 0) return { ok: false, errors: celErrors };
  return { ok: true, object: copy as T };
}

function checkEnvelope(kind: Kind, obj: unknown): FieldError[] {
  if (!isRecord(obj)) return [{ field: "", message: "must be an object" }];
  const errors: FieldError[] = [];
  if (obj["apiVersion"] !== GROUP_VERSION) {
    errors.push({ field: "apiVersion", message: `must be ${GROUP_VERSION}, got ${JSON.stringify(obj["apiVersion"])}` });
  }
  if (obj["kind"] !== kind) errors.push({ field: "kind", message: `must be ${kind}` });
  const meta = obj["metadata"];
  if (!isRecord(meta) || typeof meta["name"] !== "string" || meta["name"] === "") {
    errors.push({ field: "metadata.name", message: "is required" });
  } else if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(meta["name"]) || meta["name"].length > 253) {
    errors.push({ field: "metadata.name", message: "must be a lowercase RFC 1123 subdomain name" });
  }
  return errors;
}

type CelProgram = (ctx: Record<string, unknown>) => unknown;
const celCache = new Map<string, CelProgram>();

function celProgram(rule: string): CelProgram {
  let p = celCache.get(rule);
  if (!p) {
    p = parseCel(rule) as CelProgram;
    celCache.set(rule, p);
  }
  return p;
}

const TRANSITION_RULE = /\boldSelf\b/;

/** Walks schema and value together, evaluating CEL rules where the value exists (as the API server does). */
function runCel(schema: SchemaNode, value: unknown, path: string): FieldError[] {
  if (value === undefined || value === null) return [];
  const errors: FieldError[] = [];
  for (const v of schema["x-kubernetes-validations"] ?? []) {
    // Transition rules compare with the stored object, which only the API server has (on update).
    if (TRANSITION_RULE.test(v.rule)) continue;
    if (!evaluateRule(v.rule, value)) errors.push({ field: path, message: v.message ?? `failed rule: ${v.rule}` });
  }
  for (const [childSchema, child, childPath] of children(schema, value, path))
    errors.push(...runCel(childSchema, child, childPath));
  return errors;
}

/** The value's properties or items with the schema node each is checked against. */
function children(schema: SchemaNode, value: unknown, path: string): [SchemaNode, unknown, string][] {
  if (Array.isArray(value)) {
    const items = schema.items;
    return items ? value.map((item, i) => [items, item, `${path}[${i}]`]) : [];
  }
  if (!isRecord(value)) return [];
  const extra = typeof schema.additionalProperties === "object" ? schema.additionalProperties : null;
  return Object.entries(value).flatMap(([key, child]): [SchemaNode, unknown, string][] => {
    const childSchema = schema.properties?.[key] ?? extra;
    return childSchema ? [[childSchema, child, path ? `${path}.${key}` : key]] : [];
  });
}

function evaluateRule(rule: string, self: unknown): boolean {
  try {
    return celProgram(rule)({ self }) === true;
  } catch (err) {
    throw new Error(`CEL rule ${JSON.stringify(rule)} could not be evaluated`, { cause: err });
  }
}
