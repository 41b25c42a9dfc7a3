import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateTypesSource, GENERATED_TYPES_PATH } from "./gen-types.js";

describe("generated API types", () => {
  it("match the CRD schemas when the CRDs change (run npm run gen:types)", async () => {
    const committed = readFileSync(join(import.meta.dirname, "../../..", GENERATED_TYPES_PATH), "utf8");
    expect(committed).toBe(await generateTypesSource());
  });
});
