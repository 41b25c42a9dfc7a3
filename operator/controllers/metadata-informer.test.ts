import { describe, expect, it } from "vitest";
import { metadataOf } from "./metadata-informer.js";

describe("metadataOf", () => {
  it("keeps a Secret's name, namespace, uid and resourceVersion, and nothing of its content", () => {
    const secret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "openai",
        namespace: "team-a",
        uid: "u-1",
        resourceVersion: "42",
        labels: { team: "a" },
        // What a client-side `kubectl apply` leaves behind: the whole manifest, values included.
        annotations: { "kubectl.kubernetes.io/last-applied-configuration": '{"data":{"apiKey":"c2stbGl2ZQ=="}}' },
        managedFields: [{ manager: "kubectl", fieldsV1: { "f:data": { "f:apiKey": {} } } }],
      },
      data: { apiKey: "c2stbGl2ZQ==" },
      stringData: { apiKey: "sk-live" },
    };
    expect(metadataOf(secret)).toEqual({
      apiVersion: "meta.k8s.io/v1",
      kind: "PartialObjectMetadata",
      metadata: { name: "openai", namespace: "team-a", uid: "u-1", resourceVersion: "42" },
    });
  });

  it("leaves out the fields an object does not have, and gives an empty name to something that is not an object", () => {
    expect(metadataOf({ metadata: { name: "cluster-scoped" } }).metadata).toEqual({ name: "cluster-scoped" });
    expect(metadataOf("not an object").metadata).toEqual({ name: "" });
  });
});
