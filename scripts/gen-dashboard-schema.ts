/**
 * Regenerates test/fixtures/grafana/dashboard.schema.json, the JSON Schema of a Grafana dashboard (v1, the
 * `Dashboard` type of @grafana/schema), used to validate helm/routewise/dashboards/*.json offline.
 * Run with `npx tsx scripts/gen-dashboard-schema.ts` after upgrading @grafana/schema.
 */
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { format, resolveConfig } from "prettier";
import { createGenerator } from "ts-json-schema-generator";
import { packageRoot } from "../router/config/package-root.js";

const DASHBOARD_SCHEMA_PATH = "test/fixtures/grafana/dashboard.schema.json";

const require = createRequire(import.meta.url);
const schemaPackage = dirname(require.resolve("@grafana/schema/package.json"));
const version = (require("@grafana/schema/package.json") as { version: string }).version;
const schema = createGenerator({
  path: join(schemaPackage, "dist/types/raw/dashboard/x/types.gen.d.ts"),
  type: "Dashboard",
  skipTypeCheck: true,
}).createSchema("Dashboard");
const out = { $comment: `Generated from @grafana/schema ${version} by scripts/gen-dashboard-schema.ts`, ...schema };
const target = join(packageRoot(), DASHBOARD_SCHEMA_PATH);
const style = (await resolveConfig(target)) ?? {};
writeFileSync(target, await format(JSON.stringify(out), { ...style, filepath: target }));
console.log(`Wrote ${DASHBOARD_SCHEMA_PATH}`);
