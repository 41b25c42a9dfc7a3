/**
 * Writes router/config/router-config.schema.json from router/config/types.ts. Run with
 * `npm run gen:config-schema` after changing the types; a unit test fails when the committed schema is stale.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { format, resolveConfig } from "prettier";
import { CONFIG_SCHEMA_PATH, generateConfigSchema } from "../router/config/gen-schema.js";
import { packageRoot } from "../router/config/package-root.js";

const target = join(packageRoot(), CONFIG_SCHEMA_PATH);
const style = (await resolveConfig(target)) ?? {};
writeFileSync(target, await format(JSON.stringify(generateConfigSchema()), { ...style, filepath: target }));
console.log(`Wrote ${CONFIG_SCHEMA_PATH}`);
