/**
 * The Secrets the compiler looks up: what the operator reads the values of (ADR 9). A ModelProvider names its
 * API key (spec.auth.secretRef) and CA bundle (spec.tls.caSecretRef) in its own namespace; a ModelClientKey names
 * its key's Secret (spec.secretRef) in its own. Pure; `secret-refs.test.ts` checks that this agrees with what
 * compileProvider and compileClientKeys report missing.
 */
import type { ModelClientKey, ModelProvider } from "../api/v1alpha1/types.js";
import { secretRefOf } from "./client-keys.js";
import { compareStrings, namespaceOf } from "./compile.js";

export interface SecretRef {
  namespace: string;
  name: string;
}

/** `namespace/name`: how the operator keys Secrets. */
export function secretKey(ref: SecretRef): string {
  return `${ref.namespace}/${ref.name}`;
}

/** The Secrets a provider names, in its namespace. */
export function providerSecretRefs(p: ModelProvider): SecretRef[] {
  const namespace = namespaceOf(p);
  const names = [p.spec.auth?.secretRef.name, p.spec.tls?.caSecretRef?.name];
  return names.flatMap((name) => (name === undefined ? [] : [{ namespace, name }]));
}

/** Every Secret the given (valid) providers and client keys name, each once, sorted. */
export function referencedSecrets(
  providers: readonly ModelProvider[],
  clientKeys: readonly ModelClientKey[],
): SecretRef[] {
  const refs = [
    ...providers.flatMap(providerSecretRefs),
    ...clientKeys.map((k) => {
      const { namespace, name } = secretRefOf(k);
      return { namespace, name };
    }),
  ];
  const unique = new Map(refs.map((r) => [secretKey(r), r]));
  return [...unique.values()].sort((a, b) => compareStrings(secretKey(a), secretKey(b)));
}
