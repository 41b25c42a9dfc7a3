import { describe, expect, it } from "vitest";
import { validateClientKey, validateProvider } from "../api/v1alpha1/validate.js";
import type { ModelClientKey, ModelProvider, SecretInfo } from "../api/v1alpha1/types.js";
import { compileClientKeys } from "./client-keys.js";
import { compileProvider } from "./provider.js";
import type { Problem } from "./problems.js";
import { referencedSecrets, secretKey } from "./secret-refs.js";

function provider(name: string, namespace: string, spec: Record<string, unknown>): ModelProvider {
  const r = validateProvider({
    apiVersion: "routewise.dev/v1alpha1",
    kind: "ModelProvider",
    metadata: { name, namespace },
    spec: {
      type: "openai",
      baseURL: "https://llm.internal/v1",
      model: "m",
      pricing: { inputPerMillion: 1, outputPerMillion: 2 },
      quality: { score: 50 },
      ...spec,
    },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.object;
}

function clientKey(name: string, namespace: string, secret: string): ModelClientKey {
  const r = validateClientKey({
    apiVersion: "routewise.dev/v1alpha1",
    kind: "ModelClientKey",
    metadata: { name, namespace, labels: { team: "search" } },
    spec: { secretRef: { name: secret }, routes: ["*"] },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.object;
}

const PROVIDERS = [
  provider("keyed", "platform", { auth: { secretRef: { name: "openai", key: "token" } } }),
  provider("internal", "platform", {
    auth: { secretRef: { name: "vllm" } },
    tls: { caSecretRef: { name: "internal-ca" } },
  }),
  provider("shared", "team-a", { auth: { secretRef: { name: "openai" } } }),
  provider("open", "team-a", {}),
];
const KEYS = [clientKey("bot", "team-a", "bot-key"), clientKey("bot-2", "team-a", "bot-key")];

/** The Secrets the compiler reports missing when it is given none. */
function missingWhenNone(): string[] {
  const problems: Problem[] = PROVIDERS.flatMap((p) => compileProvider(p, []).problems);
  compileClientKeys({ keys: KEYS, salt: "00".repeat(16), digests: new Map(), teams: [] }, [], new Set(), problems);
  return problems.flatMap((p) => {
    const m = /^Secret (\S+) not found$/.exec(p.message);
    return m?.[1] ? [m[1]] : [];
  });
}

describe("referencedSecrets", () => {
  it("names each Secret providers' auth and tls and client keys refer to, once, in their own namespaces", () => {
    expect(referencedSecrets(PROVIDERS, KEYS).map(secretKey)).toEqual([
      "platform/internal-ca",
      "platform/openai",
      "platform/vllm",
      "team-a/bot-key",
      "team-a/openai",
    ]);
  });

  it("agrees with the compiler: exactly the Secrets it reports missing when it is given none", () => {
    expect(referencedSecrets(PROVIDERS, KEYS).map(secretKey)).toEqual([...new Set(missingWhenNone())].sort());
  });

  it("agrees with the compiler: given the referenced Secrets, it reports none missing", () => {
    const secrets: SecretInfo[] = referencedSecrets(PROVIDERS, KEYS).map((r) => ({
      ...r,
      keys: ["apiKey", "token", "ca.crt"],
    }));
    const problems = PROVIDERS.flatMap((p) => compileProvider(p, secrets).problems);
    expect(problems).toEqual([]);
  });
});
