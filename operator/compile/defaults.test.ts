import { describe, expect, it } from "vitest";
import { crdSchema, type Kind, type SchemaNode } from "../api/v1alpha1/crd-schema.js";
import {
  CLIENT_KEY_DEFAULTS,
  GATEWAY_DEFAULTS,
  GRANT_DEFAULTS,
  PROVIDER_DEFAULTS,
  ROUTE_DEFAULTS,
} from "./defaults.js";

const TABLES: Record<Kind, Record<string, unknown>> = {
  ModelProvider: PROVIDER_DEFAULTS,
  ModelRoute: ROUTE_DEFAULTS,
  ModelGateway: GATEWAY_DEFAULTS,
  ModelReferenceGrant: GRANT_DEFAULTS,
  ModelClientKey: CLIENT_KEY_DEFAULTS,
};

/** Every node of a CRD schema by path (`spec.rules[].match`), as the keys of the defaults tables spell them. */
function nodes(node: SchemaNode, path = "", out = new Map<string, SchemaNode>()): Map<string, SchemaNode> {
  if (path !== "") out.set(path, node);
  for (const [key, child] of Object.entries(node.properties ?? {})) nodes(child, path ? `${path}.${key}` : key, out);
  if (node.items) nodes(node.items, `${path}[]`, out);
  return out;
}

/** Whether a description states `value` as the default ("Default 2s.", "Defaults to `apiKey`", "Exact (default)"). */
function documents(description: string, value: unknown): boolean {
  const text = description.replace(/`/g, "").replace(/\s+/g, " ");
  const shown = (Array.isArray(value) ? value.map(String).join(", ") : String(value)).replace(
    /[.*+?^${}()|[\]\\]/g,
    "\\$&",
  );
  const end = "(?![0-9A-Za-z]|\\.[0-9])";
  return new RegExp(`\\bDefaults? (to )?${shown}${end}|\\b${shown} \\(default\\)`).test(text);
}

describe.each(["ModelProvider", "ModelRoute", "ModelGateway", "ModelReferenceGrant", "ModelClientKey"] as const)(
  "compiler defaults for %s",
  (kind) => {
    const schema = nodes(crdSchema(kind));
    const table = TABLES[kind];

    it("include every default: of the CRD schema, with the same value", () => {
      const structural = [...schema].filter(([, n]) => n.default !== undefined);
      expect(structural.length).toBeGreaterThan(0);
      for (const [path, node] of structural) expect(table[path], `${kind} ${path}`).toEqual(node.default);
    });

    it("are each the field's schema default or the default its CRD description states", () => {
      for (const [path, value] of Object.entries(table)) {
        const node = schema.get(path);
        expect(node, `${kind} has no field ${path}`).toBeDefined();
        if (node?.default !== undefined) continue;
        expect(documents(node?.description ?? "", value), `${kind} ${path}: ${node?.description}`).toBe(true);
      }
    });
  },
);

describe("documents (the description check itself)", () => {
  it("does not take a longer number for the default", () => {
    expect(documents("Default 0.5.", 0)).toBe(false);
    expect(documents("Default 0.95.", 0.9)).toBe(false);
    expect(documents("Default 0.95.", 0.95)).toBe(true);
  });
});
