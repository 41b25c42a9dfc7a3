/**
 * Generates router-config.schema.json, the JSON Schema of the RouterConfig, from types.ts (the source of truth)
 * with ts-json-schema-generator. Build-time only: `npm run gen:config-schema` writes it, a unit test checks that
 * the committed file is current; nothing at run time imports this module.
 */
import { join } from "node:path";
import { createGenerator } from "ts-json-schema-generator";

export const CONFIG_SCHEMA_PATH = "router/config/router-config.schema.json";

export function generateConfigSchema(): Record<string, unknown> {
  const schema = createGenerator({
    path: join(import.meta.dirname, "types.ts"),
    type: "RouterConfig",
    skipTypeCheck: true,
    // Unknown fields are ignored, not refused (see the compatibility note in types.ts).
    additionalProperties: true,
    discriminatorType: "json-schema",
  }).createSchema("RouterConfig");
  return {
    $comment: "Generated from router/config/types.ts by npm run gen:config-schema. Do not edit by hand.",
    ...schema,
  };
}
