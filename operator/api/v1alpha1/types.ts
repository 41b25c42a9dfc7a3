/**
 * Typed routewise.dev objects. Spec and status types are generated from the CRDs
 * (types.gen.ts); this file adds the Kubernetes envelope.
 */
import type {
  ModelClientKeySpec,
  ModelClientKeyStatus,
  ModelGatewaySpec,
  ModelGatewayStatus,
  ModelProviderSpec,
  ModelProviderStatus,
  ModelReferenceGrantSpec,
  ModelRouteSpec,
  ModelRouteStatus,
} from "./types.gen.js";

export type {
  ModelClientKeySpec,
  ModelClientKeyStatus,
  ModelGatewaySpec,
  ModelGatewayStatus,
  ModelProviderSpec,
  ModelProviderStatus,
  ModelReferenceGrantSpec,
  ModelRouteSpec,
  ModelRouteStatus,
};

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

export interface ModelGateway {
  apiVersion: string;
  kind: "ModelGateway";
  metadata: ObjectMeta;
  spec: ModelGatewaySpec;
  status?: ModelGatewayStatus;
}

export interface ModelReferenceGrant {
  apiVersion: string;
  kind: "ModelReferenceGrant";
  metadata: ObjectMeta;
  spec: ModelReferenceGrantSpec;
}

/** A client API key (issue 17): its value in a Secret, its team in the `team` label. */
export interface ModelClientKey {
  apiVersion: string;
  kind: "ModelClientKey";
  metadata: ObjectMeta;
  spec: ModelClientKeySpec;
  status?: ModelClientKeyStatus;
}

/** What the compiler needs to know about a Secret: that it exists and which keys it has. Never the values. */
export interface SecretInfo {
  namespace: string;
  name: string;
  keys: string[];
}
