/**
 * `npm run image [-- --only routewise,pause,redis] [--out DIR]`: builds the router/operator image (from the
 * Dockerfile's production stage), the pause and the redis image without Docker, as docker-archive tarballs under
 * .images/, and prints one JSON line per image (name, path, bytes, id, layers). See docs/adr/0018.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildImages, IMAGE_KEYS, sourceDateEpoch, type ImageKey } from "./build.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

function parseOnly(value: string | undefined): ImageKey[] {
  if (value === undefined) return [...IMAGE_KEYS];
  const keys = value.split(",").map((k) => k.trim());
  for (const key of keys) {
    if (!(IMAGE_KEYS as readonly string[]).includes(key)) {
      throw new Error(`--only: unknown image ${JSON.stringify(key)} (known: ${IMAGE_KEYS.join(", ")})`);
    }
  }
  return keys as ImageKey[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: "string" }, out: { type: "string" } } });
  const results = await buildImages({
    repoRoot,
    outDir: values.out ?? join(repoRoot, ".images"),
    only: parseOnly(values.only),
    epoch: sourceDateEpoch(),
  });
  for (const result of results) process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
  process.stderr.write(`npm run image: ${message}${cause}\n`);
  process.exitCode = 1;
});
