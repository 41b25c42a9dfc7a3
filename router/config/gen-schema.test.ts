import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CONFIG_SCHEMA_PATH, generateConfigSchema } from "./gen-schema.js";

describe("RouterConfig JSON schema", () => {
  it("matches router/config/types.ts when the types change (run npm run gen:config-schema)", () => {
    const committed: unknown = JSON.parse(readFileSync(join(import.meta.dirname, "../..", CONFIG_SCHEMA_PATH), "utf8"));
    expect(committed).toEqual(JSON.parse(JSON.stringify(generateConfigSchema())));
  });
});
