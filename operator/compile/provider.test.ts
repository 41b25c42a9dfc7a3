import { describe, expect, it } from "vitest";
import type { ModelProvider } from "../api/v1alpha1/types.js";
import { compileProvider } from "./provider.js";

function provider(type: ModelProvider["spec"]["type"], embeddings?: boolean): ModelProvider {
  return {
    apiVersion: "routewise.dev/v1alpha1",
    kind: "ModelProvider",
    metadata: { name: "p", namespace: "default" },
    spec: {
      type,
      model: "text-embedding-3-small",
      pricing: { inputPerMillion: 0.02, outputPerMillion: 0 },
      quality: { score: 50 },
      ...(embeddings === undefined ? {} : { capabilities: { embeddings } }),
    },
  };
}

describe("compileProvider capabilities.embeddings", () => {
  it("compiles embeddings: true when an openai provider sets it", () => {
    expect(compileProvider(provider("openai", true), []).provider?.capabilities.embeddings).toBe(true);
  });

  it("leaves the field out when the provider does not set it, so its config hash is unchanged", () => {
    expect(compileProvider(provider("openai"), []).provider?.capabilities).not.toHaveProperty("embeddings");
  });

  it("ignores embeddings when the provider is anthropic", () => {
    expect(compileProvider(provider("anthropic", true), []).provider?.capabilities).not.toHaveProperty("embeddings");
  });
});

function withResponses(type: ModelProvider["spec"]["type"], responses?: boolean): ModelProvider {
  const p = provider(type);
  return { ...p, spec: { ...p.spec, ...(responses === undefined ? {} : { capabilities: { responses } }) } };
}

describe("compileProvider capabilities.responses", () => {
  it("compiles responses: true when an openai provider sets it", () => {
    expect(compileProvider(withResponses("openai", true), []).provider?.capabilities.responses).toBe(true);
  });

  it("leaves the field out when the provider does not set it, so its config hash is unchanged", () => {
    expect(compileProvider(withResponses("openai"), []).provider?.capabilities).not.toHaveProperty("responses");
  });

  it("ignores responses when the provider type is not openai", () => {
    for (const type of ["azure-openai", "anthropic", "simulated"] as const)
      expect(compileProvider(withResponses(type, true), []).provider?.capabilities).not.toHaveProperty("responses");
  });
});
