import { REASONS } from "../api/v1alpha1/conditions.js";
import type { ModelProvider, SecretInfo } from "../api/v1alpha1/types.js";
import type { Domain, ProviderConfig, SimulatedBehaviour } from "../../router/config/types.js";
import { caKey, credentialKey, type CredentialSource } from "./credentials.js";
import { PROVIDER_DEFAULTS } from "./defaults.js";
import { DURATION_FIELDS, durationOr, MAX_DURATION, overlongDurations } from "./duration.js";
import type { Problem } from "./problems.js";

const D = PROVIDER_DEFAULTS;

export interface ProviderOutput {
  provider: ProviderConfig | null;
  credential: CredentialSource | null;
  /** The CA bundle's source (spec.tls.caSecretRef), copied like a credential. */
  ca: CredentialSource | null;
  problems: Problem[];
}

export function compileProvider(p: ModelProvider, secrets: SecretInfo[]): ProviderOutput {
  const namespace = p.metadata.namespace ?? "default";
  const name = p.metadata.name;
  const problems: Problem[] = [];
  const problem = (field: string, reason: Problem["reason"], message: string): void => {
    problems.push({
      object: { kind: "ModelProvider", namespace, name },
      field,
      condition: "ResolvedRefs",
      reason,
      message,
    });
  };

  const secretSource = (
    ref: { name: string; key?: string } | undefined,
    field: string,
    defaults: { key: string; into: string },
  ): CredentialSource | null => {
    if (!ref) return null;
    const secretKey = ref.key ?? defaults.key;
    const secret = secrets.find((s) => s.namespace === namespace && s.name === ref.name);
    if (!secret) {
      problem(`${field}.name`, REASONS.ResolvedRefs.secretNotFound, `Secret ${namespace}/${ref.name} not found`);
      return null;
    }
    if (!secret.keys.includes(secretKey)) {
      const message = `Secret ${namespace}/${ref.name} has no key ${JSON.stringify(secretKey)}`;
      problem(`${field}.key`, REASONS.ResolvedRefs.secretKeyNotFound, message);
      return null;
    }
    return { key: defaults.into, namespace, secretName: ref.name, secretKey };
  };
  const credential = secretSource(p.spec.auth?.secretRef, "spec.auth.secretRef", {
    key: D["spec.auth.secretRef.key"],
    into: credentialKey(namespace, name),
  });
  const ca = secretSource(p.spec.tls?.caSecretRef, "spec.tls.caSecretRef", {
    key: D["spec.tls.caSecretRef.key"],
    into: caKey(namespace, name),
  });
  for (const field of overlongDurations(p, DURATION_FIELDS.ModelProvider)) {
    problems.push({
      object: { kind: "ModelProvider", namespace, name },
      field,
      condition: "Accepted",
      reason: REASONS.Accepted.invalid,
      message: `must be at most ${MAX_DURATION}`,
    });
  }
  if (problems.length > 0) return { provider: null, credential: null, ca: null, problems };
  return { provider: toConfig(p, namespace, credential, ca), credential, ca, problems };
}

function toConfig(
  p: ModelProvider,
  namespace: string,
  credential: CredentialSource | null,
  ca: CredentialSource | null,
): ProviderConfig {
  const s = p.spec;
  const contextWindow = s.contextWindow ?? D["spec.contextWindow"];
  return {
    id: `${namespace}/${p.metadata.name}`,
    type: s.type,
    baseURL: (s.baseURL ?? "").replace(/\/+$/, ""),
    model: s.model,
    credentialKey: credential?.key ?? null,
    azure: s.azure ? { deployment: s.azure.deployment, apiVersion: s.azure.apiVersion } : null,
    pricing: pricing(s.pricing),
    contextWindow,
    maxOutputTokens: Math.min(s.maxOutputTokens ?? D["spec.maxOutputTokens"], contextWindow),
    capabilities: capabilities(s),
    quality: { score: s.quality.score, domains: sortedDomains(s.quality.domains ?? {}) },
    limits: limits(s),
    timeouts: timeouts(s.timeouts),
    simulated: s.type === "simulated" ? simulated(s.simulated) : null,
    headers: Object.fromEntries(Object.entries(s.headers ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))),
    ...egress(s, ca),
  };
}

const PROXY_MODES = { Environment: "environment", None: "direct", URL: "url" } as const;

/** Only providers that set a proxy or a CA carry `egress`, so every other config (and its hash) is unchanged. */
function egress(s: Spec, ca: CredentialSource | null): Pick<ProviderConfig, "egress"> {
  const from = s.proxy?.from ?? D["spec.proxy.from"];
  if (from === "Environment" && ca === null) return {};
  const proxyURL = from === "URL" ? (s.proxy?.url ?? null) : null;
  return { egress: { proxy: PROXY_MODES[from], proxyURL, caKey: ca?.key ?? null } };
}

type Spec = ModelProvider["spec"];

function capabilities(s: Spec): ProviderConfig["capabilities"] {
  const c = s.capabilities;
  return {
    tools: c?.tools ?? D["spec.capabilities.tools"],
    vision: c?.vision ?? D["spec.capabilities.vision"],
    jsonMode: c?.jsonMode ?? D["spec.capabilities.jsonMode"],
    streaming: c?.streaming ?? D["spec.capabilities.streaming"],
    prefill: prefill(s),
    ...embeddings(s),
    ...responses(s),
  };
}

/** Only a provider that speaks the Responses API carries the field, so every other config (and its hash) is unchanged. */
function responses(s: Spec): Pick<ProviderConfig["capabilities"], "responses"> {
  const on = s.capabilities?.responses ?? D["spec.capabilities.responses"];
  return on && s.type === "openai" ? { responses: true } : {};
}

/** Only an embedding model carries the field, so every other provider's config (and its hash) is unchanged. */
function embeddings(s: Spec): Pick<ProviderConfig["capabilities"], "embeddings"> {
  const on = s.capabilities?.embeddings ?? D["spec.capabilities.embeddings"];
  return on && s.type !== "anthropic" ? { embeddings: true } : {};
}

/** Anthropic continues a trailing assistant message; OpenAI-compatible APIs answer it anew (ADR 8). */
function prefill(s: Spec): boolean {
  return s.capabilities?.prefill ?? s.type === "anthropic";
}

function limits(s: Spec): ProviderConfig["limits"] {
  const l = s.limits;
  return {
    maxConcurrency: l?.maxConcurrency ?? D["spec.limits.maxConcurrency"],
    requestsPerMinute: l?.requestsPerMinute ?? D["spec.limits.requestsPerMinute"],
    tokensPerMinute: l?.tokensPerMinute ?? D["spec.limits.tokensPerMinute"],
  };
}

function simulated(s: NonNullable<ModelProvider["spec"]["simulated"]> | undefined): SimulatedBehaviour {
  return {
    timeToFirstTokenMs: durationOr(s?.timeToFirstToken, D["spec.simulated.timeToFirstToken"]),
    tokensPerSecond: s?.tokensPerSecond ?? D["spec.simulated.tokensPerSecond"],
    failureRate: s?.failureRate ?? D["spec.simulated.failureRate"],
    outputTokens: s?.outputTokens ?? D["spec.simulated.outputTokens"],
  };
}

function sortedDomains(d: Record<string, number>): Partial<Record<Domain, number>> {
  return Object.fromEntries(Object.entries(d).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Cached input tokens cost the input price unless the provider says otherwise. */
function pricing(p: ModelProvider["spec"]["pricing"]): ProviderConfig["pricing"] {
  return {
    inputPerMillion: p.inputPerMillion,
    outputPerMillion: p.outputPerMillion,
    cachedInputPerMillion: p.cachedInputPerMillion ?? p.inputPerMillion,
  };
}

function timeouts(t: ModelProvider["spec"]["timeouts"]): ProviderConfig["timeouts"] {
  return {
    requestMs: durationOr(t?.request, D["spec.timeouts.request"]),
    connectMs: durationOr(t?.connect, D["spec.timeouts.connect"]),
  };
}
