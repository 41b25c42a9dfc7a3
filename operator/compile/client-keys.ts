/**
 * ModelClientKeys → the config's `clientKeys` (issue 17): each key as a salted sha256 of its Secret value, never the
 * value, with its team (the `team` label), routes and budget, plus the gateway's team budgets. Pure: the digests are
 * computed by whoever holds the values (the reconciler, the CLI) with keyDigests(), so the compiler itself, like
 * for providers, sees only Secret metadata.
 */
import { createHash } from "node:crypto";
import { REASONS } from "../api/v1alpha1/conditions.js";
import type { ModelClientKey, SecretInfo } from "../api/v1alpha1/types.js";
import type { BudgetConfig, ClientKeyConfig, ClientKeysConfig } from "../../router/config/types.js";
import { compileBudget } from "./budget.js";
import { CLIENT_KEY_DEFAULTS } from "./defaults.js";
import { objectKey, type Problem } from "./problems.js";

/** The label whose value is a key's team. */
export const TEAM_LABEL = "team";

/** Keys shorter than this are refused: the salt is public, so a short key could be found by trying them all. */
export const MIN_KEY_LENGTH = 16;

/** What the holder of the values found for one secretRef: the digest, or why there is none. */
export type KeyDigest = { sha256: string } | { problem: "empty" | "short" };

/** Digests by digestRef(namespace, secret, key). */
export type KeyDigests = ReadonlyMap<string, KeyDigest>;

export interface ClientKeyInput {
  /** Schema-valid keys this gateway admits. */
  keys: ModelClientKey[];
  /** The gateway's salt (hex). */
  salt: string;
  digests: KeyDigests;
  /** The gateway's team budgets (spec.teamBudgets). */
  teams: { team: string; budget: BudgetConfig }[];
}

export interface CompiledClientKeys {
  /** Null when the gateway admits no ModelClientKey (the routers then need no key). */
  config: ClientKeysConfig | null;
  /** Keys (objectKey) of the keys in the config. */
  programmed: string[];
}

/** sha256(salt as UTF-8 + key), lowercase hex: what the router computes from a request's key. */
export function keyDigest(salt: string, key: string): string {
  return createHash("sha256").update(salt, "utf8").update(key, "utf8").digest("hex");
}

export function digestRef(namespace: string, secret: string, key: string): string {
  return `${namespace}/${secret}/${key}`;
}

/** The Secret key a ModelClientKey reads. */
export function secretRefOf(k: ModelClientKey): { namespace: string; name: string; key: string } {
  return {
    namespace: k.metadata.namespace ?? "default",
    name: k.spec.secretRef.name,
    key: k.spec.secretRef.key ?? CLIENT_KEY_DEFAULTS["spec.secretRef.key"],
  };
}

/** The digests of the keys' Secret values under one salt; `value` reads a Secret's key (undefined: none). */
export function keyDigests(
  salt: string,
  keys: readonly ModelClientKey[],
  value: (namespace: string, secret: string, key: string) => string | undefined,
): Map<string, KeyDigest> {
  const out = new Map<string, KeyDigest>();
  for (const k of keys) {
    const ref = secretRefOf(k);
    const v = value(ref.namespace, ref.name, ref.key);
    if (v === undefined) continue;
    const trimmed = v.trim();
    const digest: KeyDigest =
      trimmed === ""
        ? { problem: "empty" }
        : trimmed.length < MIN_KEY_LENGTH
          ? { problem: "short" }
          : { sha256: keyDigest(salt, trimmed) };
    out.set(digestRef(ref.namespace, ref.name, ref.key), digest);
  }
  return out;
}

/**
 * The gateway's clientKeys. `served` are the route names of its config: a key listing a route the gateway does not
 * serve keeps the name (it works once the route is served) and reports RouteNotFound.
 */
export function compileClientKeys(
  input: ClientKeyInput,
  secrets: readonly SecretInfo[],
  served: ReadonlySet<string>,
  problems: Problem[],
): CompiledClientKeys {
  if (input.keys.length === 0) return { config: null, programmed: [] };
  const keys: ClientKeyConfig[] = [];
  const byDigest = new Map<string, string>();
  for (const k of [...input.keys].sort((a, b) => compare(nameOf(a), nameOf(b)))) {
    const sha256 = resolveDigest(k, input.digests, secrets, problems);
    if (sha256 === null) continue;
    const holder = byDigest.get(sha256);
    if (holder !== undefined) {
      problems.push(conflict(k, holder));
      continue;
    }
    byDigest.set(sha256, nameOf(k));
    problems.push(...unknownRoutes(k, served));
    keys.push({
      name: nameOf(k),
      team: k.metadata.labels?.[TEAM_LABEL] ?? null,
      sha256,
      routes: [...k.spec.routes].sort(compare),
      budget: compileBudget(k.spec.budget),
    });
  }
  const teams = [...input.teams].sort((a, b) => compare(a.team, b.team));
  const programmed = keys.map((k) => objectKey({ kind: "ModelClientKey", ...splitName(k.name) }));
  return { config: { salt: input.salt, keys, teams }, programmed };
}

function resolveDigest(
  k: ModelClientKey,
  digests: KeyDigests,
  secrets: readonly SecretInfo[],
  problems: Problem[],
): string | null {
  const ref = secretRefOf(k);
  const problem = (field: string, reason: Problem["reason"], message: string): null => {
    problems.push({ object: objectOf(k), field, condition: "ResolvedRefs", reason, message });
    return null;
  };
  const where = `Secret ${ref.namespace}/${ref.name}`;
  const secret = secrets.find((s) => s.namespace === ref.namespace && s.name === ref.name);
  if (!secret) return problem("spec.secretRef.name", REASONS.ResolvedRefs.secretNotFound, `${where} not found`);
  const digest = secret.keys.includes(ref.key) ? digests.get(digestRef(ref.namespace, ref.name, ref.key)) : undefined;
  const key = JSON.stringify(ref.key);
  if (digest === undefined)
    return problem("spec.secretRef.key", REASONS.ResolvedRefs.secretKeyNotFound, `${where} has no key ${key}`);
  if ("sha256" in digest) return digest.sha256;
  const message =
    digest.problem === "empty"
      ? `${where} key ${key} is empty`
      : `${where} key ${key} is shorter than ${MIN_KEY_LENGTH} characters`;
  return problem("spec.secretRef.key", REASONS.ResolvedRefs.keyTooShort, message);
}

function unknownRoutes(k: ModelClientKey, served: ReadonlySet<string>): Problem[] {
  return k.spec.routes.flatMap((r, i): Problem[] =>
    r === "*" || served.has(r)
      ? []
      : [
          {
            object: objectOf(k),
            field: `spec.routes[${i}]`,
            condition: "ResolvedRefs",
            reason: REASONS.ResolvedRefs.routeNotFound,
            message: `no route of this gateway serves model ${JSON.stringify(r)} (the key is programmed without it)`,
          },
        ],
  );
}

function conflict(k: ModelClientKey, holder: string): Problem {
  return {
    object: objectOf(k),
    field: "spec.secretRef",
    condition: "Accepted",
    reason: REASONS.Accepted.conflicted,
    message: `the key's value is also ModelClientKey ${holder}'s, which takes precedence (by namespace/name); give each key its own value`,
  };
}

function objectOf(k: ModelClientKey): Problem["object"] {
  return { kind: "ModelClientKey", namespace: k.metadata.namespace ?? "default", name: k.metadata.name };
}

/** The key's name in the config, logs and metrics: namespace/name. */
export function nameOf(k: ModelClientKey): string {
  return `${k.metadata.namespace ?? "default"}/${k.metadata.name}`;
}

function splitName(name: string): { namespace: string; name: string } {
  const i = name.indexOf("/");
  return { namespace: name.slice(0, i), name: name.slice(i + 1) };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
