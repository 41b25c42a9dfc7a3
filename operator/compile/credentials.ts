/**
 * A provider's credential as the compiler hands it on: its key in the operator's credentials Secret (and the
 * router's credentials directory) and the user's Secret the value comes from. Shared by compile.ts and
 * provider.ts, which would otherwise import each other.
 */

/** Where the operator (or CLI) finds the value of a credential the config refers to. */
export interface CredentialSource {
  key: string;
  namespace: string;
  secretName: string;
  secretKey: string;
}

/** The credential's key in the operator's Secret (and the router's credentials directory). */
export function credentialKey(namespace: string, name: string): string {
  return `${namespace}.${name}`;
}

/**
 * A provider's CA bundle's key in the operator's Secret: `namespace.name_ca`. Kubernetes names never contain `_`,
 * so it cannot collide with a provider's API key (`namespace.name`) or another provider's CA.
 */
export function caKey(namespace: string, name: string): string {
  return `${credentialKey(namespace, name)}_ca`;
}
