import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/** Packages the contract may use (gen-schema.ts's generator is build-time only). */
const ALLOWED_PACKAGES = new Set(["ajv", "ts-json-schema-generator", "vitest"]);

describe("router/config", () => {
  it("imports only its own files, node: built-ins and a few packages (it is the leaf the operator and CLI share)", () => {
    const outside: string[] = [];
    for (const file of readdirSync(import.meta.dirname).filter((f) => f.endsWith(".ts"))) {
      const text = readFileSync(join(import.meta.dirname, file), "utf8");
      for (const [, spec = ""] of text.matchAll(/^(?:import|export)[^;]*?from "([^"]+)"/gms)) {
        const local = spec.startsWith("./") && !spec.slice(2).includes("/");
        if (!local && !spec.startsWith("node:") && !ALLOWED_PACKAGES.has(spec)) outside.push(`${file}: ${spec}`);
      }
    }
    expect(outside).toEqual([]);
  });
});
