/**
 * Typed ModelProvider and ModelRoute objects. Spec and status types are generated from the CRDs
 * (types.gen.ts); this file adds the Kubernetes envelope.
 */
import type { ModelProviderSpec, ModelProviderStatus, ModelRouteSpec, ModelRouteStatus } from "./types.gen.js";

export type { ModelProviderSpec, ModelProviderStatus, ModelRouteSpec, ModelRouteStatus };

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ModelProvider {
  apiVersion: string;
  kind: "ModelProvider";
  metadata: ObjectMeta;
  spec: ModelProviderSpec;
  status?: ModelProviderStatus;
}

export interface ModelRoute {
  apiVersion: string;
  kind: "ModelRoute";
  metadata: ObjectMeta;
  spec: ModelRouteSpec;
  status?: ModelRouteStatus;
}

/** What the compiler needs to know about a Secret: that it exists and which keys it has. Never the values. */
export interface SecretInfo {
  namespace: string;
  name: string;
  keys: string[];
}
