import { describe, expect, it } from "vitest";
import { crdSchema, type SchemaNode } from "../api/v1alpha1/crd-schema.js";
import { DURATION_FIELDS, MAX_DURATION, overlongDurations, parseDuration } from "./duration.js";

const DURATION_PATTERN = "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$";

function durationNodes(node: SchemaNode, path = "", out = new Map<string, SchemaNode>()): Map<string, SchemaNode> {
  if ((node as { pattern?: string }).pattern === DURATION_PATTERN) out.set(path, node);
  for (const [key, child] of Object.entries(node.properties ?? {}))
    durationNodes(child, path ? `${path}.${key}` : key, out);
  if (node.items) durationNodes(node.items, `${path}[]`, out);
  return out;
}

describe.each(["ModelProvider", "ModelRoute"] as const)("duration fields of %s", (kind) => {
  const nodes = durationNodes(crdSchema(kind));

  it("are the compiler's list, each capped in the CRD at the compiler's maximum", () => {
    expect([...nodes.keys()].sort()).toEqual([...DURATION_FIELDS[kind]].sort());
    for (const [path, node] of nodes) {
      const rules = (node["x-kubernetes-validations"] ?? []).map((v) => v.rule);
      expect(rules, path).toContain(`duration(self) <= duration('${MAX_DURATION}')`);
      expect((node as { maxLength?: number }).maxLength, path).toBe(32);
    }
  });
});

describe("overlongDurations", () => {
  it("names the fields over the cap and nothing else", () => {
    const spec = { spec: { timeouts: { request: "24h", attempt: "24h1ms", firstToken: "700h" } } };
    expect(
      overlongDurations(spec, ["spec.timeouts.request", "spec.timeouts.attempt", "spec.timeouts.firstToken"]),
    ).toEqual(["spec.timeouts.attempt", "spec.timeouts.firstToken"]);
    expect(parseDuration(MAX_DURATION)).toBe(24 * 3_600_000);
  });
});
