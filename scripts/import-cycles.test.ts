import { describe, expect, it } from "vitest";
import { findCycles, importsOf, projectCycles } from "./import-cycles.js";

describe("import cycles", () => {
  it("finds a cycle that runs through a type-only import", () => {
    const graph = new Map([
      ["a", ["b"]],
      ["b", ["c"]],
      ["c", ["a"]],
      ["d", ["a"]],
    ]);
    expect(findCycles(graph)).toEqual([["a", "b", "c", "a"]]);
  });

  it("reads type-only and re-export specifiers as imports", () => {
    const text = 'import type { X } from "./import-cycles.js";\nexport { y } from "./import-cycles.test.js";\n';
    expect(importsOf(new URL(import.meta.url).pathname, text)).toHaveLength(2);
  });

  it("finds none in the project, type-only imports included", () => {
    expect(projectCycles()).toEqual([]);
  });
});
