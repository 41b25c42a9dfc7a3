/**
 * Generates operator/api/v1alpha1/types.gen.ts from the CRD schemas in crds/ (the source of truth).
 * Run with `npm run gen:types`; a unit test fails when the committed file is stale.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateTypesSource, GENERATED_TYPES_PATH } from "../operator/api/v1alpha1/gen-types.js";
import { packageRoot } from "../router/config/package-root.js";

const source = await generateTypesSource();
writeFileSync(join(packageRoot(), GENERATED_TYPES_PATH), source);
console.log(`Wrote ${GENERATED_TYPES_PATH}`);
