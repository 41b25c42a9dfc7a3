/**
 * Reads routewise.dev (ModelProvider, ModelRoute, ModelGateway, ModelReferenceGrant, ModelClientKey) and Secret manifests from files and directories of multi-document YAML, the
 * way `kubectl apply -f` would, keeping file and line for every object so errors can point at them.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { LineCounter, parseAllDocuments, type Document } from "yaml";
import { GROUP_VERSION } from "../operator/api/v1alpha1/crd-schema.js";
import type {
  ModelClientKey,
  ModelGateway,
  ModelProvider,
  ModelReferenceGrant,
  ModelRoute,
  SecretInfo,
} from "../operator/api/v1alpha1/types.js";
import {
  validateClientKey,
  validateGateway,
  validateGrant,
  validateProvider,
  validateRoute,
  type FieldError,
} from "../operator/api/v1alpha1/validate.js";
import { describeObject, objectKey } from "../operator/compile/problems.js";
import { isRecord } from "../router/config/json.js";

/** An error tied to a place in a file. */
export interface SourceError {
  file: string;
  line: number;
  /** "Kind namespace/name", or "" when the object could not be identified. */
  object: string;
  field: string;
  message: string;
}

export interface LoadedManifests {
  providers: ModelProvider[];
  routes: ModelRoute[];
  gateways: ModelGateway[];
  grants: ModelReferenceGrant[];
  clientKeys: ModelClientKey[];
  secrets: SecretInfo[];
  /** ModelProviders that failed validation (so references to them can say so). */
  rejectedProviders: { namespace: string; name: string }[];
  /** Secret values by "namespace/name" → key → value; only the CLI and standalone router use these. */
  secretValues: Map<string, Record<string, string>>;
  errors: SourceError[];
  /** Objects of other kinds that were skipped. */
  skipped: string[];
  /** Finds the file and line of a field of an object ("Kind/namespace/name"). */
  locate(objectKey: string, field: string): { file: string; line: number } | null;
}

interface Located {
  file: string;
  doc: Document;
  lines: LineCounter;
}

const YAML_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/** Expands files and directories (non-recursive into hidden entries) to a sorted list of YAML files. */
export function expandPaths(paths: string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    const st = statSync(p);
    if (st.isDirectory()) {
      const entries = readdirSync(p)
        .filter((e) => !e.startsWith("."))
        .sort();
      files.push(
        ...expandPaths(
          entries.map((e) => join(p, e)).filter((e) => statSync(e).isDirectory() || YAML_EXTENSIONS.has(extname(e))),
        ),
      );
    } else files.push(p);
  }
  return files;
}

export function loadManifests(paths: string[], defaultNamespace: string): LoadedManifests {
  const out: LoadedManifests = {
    providers: [],
    gateways: [],
    grants: [],
    clientKeys: [],
    routes: [],
    secrets: [],
    rejectedProviders: [],
    secretValues: new Map(),
    errors: [],
    skipped: [],
    locate: () => null,
  };
  const index = new Map<string, Located>();
  for (const file of expandPaths(paths)) loadFile(file, defaultNamespace, out, index);
  out.locate = (key, field) => {
    const hit = index.get(key);
    return hit ? { file: hit.file, line: lineOf(hit, field) } : null;
  };
  return out;
}

function loadFile(file: string, defaultNamespace: string, out: LoadedManifests, index: Map<string, Located>): void {
  const text = readFileSync(file, "utf8");
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  let documents = 0;
  for (const doc of Array.isArray(docs) ? docs : []) {
    const loc = { file, doc, lines };
    const value = documentValue(loc, out);
    if (value === undefined) continue;
    documents++;
    if (value !== null) addObject(loc, value, defaultNamespace, out, index);
  }
  // An empty file is refused, not read as "nothing": a policy file being rewritten is empty for a moment.
  if (documents === 0) {
    const message = "the file has no YAML documents (empty, or only comments)";
    out.errors.push({ file, line: 1, object: "", field: "", message });
  }
}

/**
 * A document's value: undefined when it holds nothing, null when it could not be read (the error reported with
 * its line: invalid YAML, or aliases expanding past the parser's limit, a "billion laughs").
 */
function documentValue(loc: Located, out: LoadedManifests): unknown {
  const firstError = loc.doc.errors[0];
  const at = (pos: number) => loc.lines.linePos(pos).line;
  const fail = (line: number, message: string): null => {
    out.errors.push({ file: loc.file, line, object: "", field: "", message: `invalid YAML: ${message}` });
    return null;
  };
  if (firstError) return fail(at(firstError.pos[0]), firstError.message.split("\n")[0] ?? "");
  try {
    const value: unknown = loc.doc.toJS();
    return value ?? undefined;
  } catch (err) {
    return fail(at(loc.doc.range?.[0] ?? 0), err instanceof Error ? err.message : String(err));
  }
}

function addObject(
  loc: Located,
  value: unknown,
  defaultNamespace: string,
  out: LoadedManifests,
  index: Map<string, Located>,
): void {
  if (!isRecord(value)) {
    const line = loc.lines.linePos(loc.doc.range?.[0] ?? 0).line;
    out.errors.push({ file: loc.file, line, object: "", field: "", message: "a manifest must be a YAML mapping" });
    return;
  }
  const id = identify(value, defaultNamespace);
  const withNs = { ...value, metadata: { ...id.meta, namespace: id.namespace } };
  index.set(objectKey(id), loc);
  if (value["apiVersion"] === "v1" && id.kind === "Secret") addSecret(withNs, id.namespace, id.name, out);
  else if (id.kind in POLICY_KINDS || value["apiVersion"] === GROUP_VERSION) addPolicy(loc, withNs, id, out);
  else out.skipped.push(`${String(value["apiVersion"])} ${id.kind} ${id.namespace}/${id.name}`);
}

interface Identity {
  kind: string;
  namespace: string;
  name: string;
  meta: Record<string, unknown>;
}

function identify(value: Record<string, unknown>, defaultNamespace: string): Identity {
  const meta = isRecord(value["metadata"]) ? value["metadata"] : {};
  return {
    kind: typeof value["kind"] === "string" ? value["kind"] : "<no kind>",
    namespace: typeof meta["namespace"] === "string" ? meta["namespace"] : defaultNamespace,
    name: typeof meta["name"] === "string" ? meta["name"] : "<unnamed>",
    meta,
  };
}

/** A routewise.dev object: validated with the CRD's schema and CEL rules; errors point at file and line. */
function addPolicy(loc: Located, value: Record<string, unknown>, id: Identity, out: LoadedManifests): void {
  const report = (errors: FieldError[]): void => {
    for (const e of errors) {
      out.errors.push({
        file: loc.file,
        line: lineOf(loc, e.field),
        object: describeObject(id),
        field: e.field,
        message: e.message,
      });
    }
  };
  const add = POLICY_KINDS[id.kind];
  if (add === undefined) {
    report([{ field: "kind", message: `unknown kind ${JSON.stringify(id.kind)} in ${GROUP_VERSION}` }]);
    return;
  }
  // YAML reads 1e400 as Infinity, which no API server would store (it is not JSON): refused like a bad value.
  const nonFinite = nonFiniteNumbers(value);
  const errors = nonFinite.length > 0 ? nonFinite : add(value, out);
  if (errors.length === 0) return;
  report(errors);
  if (id.kind === "ModelProvider") out.rejectedProviders.push({ namespace: id.namespace, name: id.name });
}

type AddPolicy = (value: unknown, out: LoadedManifests) => FieldError[];

/** Fields holding a number that is not finite (Infinity, NaN), by path (`spec.rules[0].match…`). */
function nonFiniteNumbers(value: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const stack: [unknown, string][] = [[value, ""]];
  while (stack.length > 0) {
    const [v, path] = stack.pop() as [unknown, string];
    if (typeof v === "number" && !Number.isFinite(v))
      errors.push({ field: path, message: `must be a finite number (read as ${String(v)})` });
    if (Array.isArray(v)) v.forEach((x, i) => stack.push([x, `${path}[${i}]`]));
    else if (isRecord(v)) for (const [k, x] of Object.entries(v)) stack.push([x, path === "" ? k : `${path}.${k}`]);
  }
  return errors.reverse();
}

/** Validates one object of a kind and files it; the validation errors, or none. */
function adder<T>(
  validate: (v: unknown) => { ok: true; object: T } | { ok: false; errors: FieldError[] },
  into: (out: LoadedManifests) => T[],
): AddPolicy {
  return (value, out) => {
    const result = validate(value);
    if (!result.ok) return result.errors;
    into(out).push(result.object);
    return [];
  };
}

const POLICY_KINDS: Partial<Record<string, AddPolicy>> = {
  ModelProvider: adder(validateProvider, (o) => o.providers),
  ModelRoute: adder(validateRoute, (o) => o.routes),
  ModelGateway: adder(validateGateway, (o) => o.gateways),
  ModelReferenceGrant: adder(validateGrant, (o) => o.grants),
  ModelClientKey: adder(validateClientKey, (o) => o.clientKeys),
};

function addSecret(obj: Record<string, unknown>, namespace: string, name: string, out: LoadedManifests): void {
  const values: Record<string, string> = {};
  const data = obj["data"];
  if (isRecord(data)) {
    for (const [k, v] of Object.entries(data))
      if (typeof v === "string") values[k] = Buffer.from(v, "base64").toString("utf8");
  }
  const stringData = obj["stringData"];
  if (isRecord(stringData)) for (const [k, v] of Object.entries(stringData)) if (typeof v === "string") values[k] = v;
  out.secrets.push({ namespace, name, keys: Object.keys(values).sort() });
  out.secretValues.set(`${namespace}/${name}`, values);
}

/** Line of the deepest existing node on the field path (e.g. spec.rules[0].pin[1]), else the document start. */
function lineOf(loc: Located, field: string): number {
  const path = field
    .replace(/\[(\d+)\]/g, ".$1")
    .split(".")
    .filter((s) => s !== "")
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  for (let n = path.length; n > 0; n--) {
    const node: unknown = loc.doc.getIn(path.slice(0, n), true);
    const range = isRecord(node) ? node["range"] : undefined;
    if (Array.isArray(range) && typeof range[0] === "number") return loc.lines.linePos(range[0]).line;
  }
  return loc.lines.linePos(loc.doc.range?.[0] ?? 0).line;
}
