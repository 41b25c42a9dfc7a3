import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { validateKind } from "./validate.js";

const CASES = join(import.meta.dirname, "../../../test/fixtures/crd-cases");

function load(dir: string): { file: string; obj: { kind: "ModelProvider" | "ModelRoute" }; expect: string }[] {
  return readdirSync(join(CASES, dir)).map((file) => {
    const text = readFileSync(join(CASES, dir, file), "utf8");
    return {
      file,
      obj: parse(text) as { kind: "ModelProvider" | "ModelRoute" },
      expect: /^# expect: (.*)$/m.exec(text)?.[1] ?? "",
    };
  });
}

describe("CRD validation (schema + CEL, offline)", () => {
  for (const c of load("valid")) {
    it(`accepts ${c.file}`, () => {
      const result = validateKind(c.obj.kind, c.obj);
      expect(result.ok ? [] : result.errors).toEqual([]);
    });
  }
  for (const c of load("invalid")) {
    it(`rejects ${c.file} naming the field or rule`, () => {
      const result = validateKind(c.obj.kind, c.obj);
      expect(result.ok).toBe(false);
      const text = result.ok ? "" : result.errors.map((e) => `${e.field}: ${e.message}`).join("\n");
      expect(text).toContain(c.expect);
    });
  }

  it("applies schema defaults when fields are omitted", () => {
    const result = validateKind("ModelRoute", {
      apiVersion: "routewise.dev/v1alpha1",
      kind: "ModelRoute",
      metadata: { name: "r" },
      spec: { modelName: "m", baseline: { name: "a" }, candidates: [{ name: "a" }] },
    });
    expect(result.ok && result.object).toMatchObject({ spec: { priority: 0, candidates: [{ name: "a", weight: 1 }] } });
  });

  it("rejects an object of another apiVersion", () => {
    const result = validateKind("ModelRoute", {
      apiVersion: "routewise.dev/v1",
      kind: "ModelRoute",
      metadata: { name: "r" },
      spec: {},
    });
    expect(result.ok ? [] : result.errors.map((e) => e.field)).toContain("apiVersion");
  });
});
