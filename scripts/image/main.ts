/**
 * `npm run image [-- --only routewise,pause,redis] [--out DIR] [--timeout SECONDS]`: builds the router/operator
 * image (from the Dockerfile's production stage), the pause and the redis image without Docker, as docker-archive
 * tarballs under .images/, and prints one JSON line per image (name, path, bytes, id, layers). Each step's time goes
 * to stderr; a build still running after --timeout (default 900 s; 10-60 s is usual) names the steps in flight and
 * exits 1 rather than holding up whatever waits for it. See docs/adr/0018.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildImages, IMAGE_KEYS, sourceDateEpoch, type ImageKey } from "./build.js";
import { Progress } from "./progress.js";

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

function parseTimeout(value: string | undefined): number {
  if (value === undefined) return 900;
  if (!/^[1-9]\d*$/.test(value)) throw new Error(`--timeout: a whole number of seconds, got ${JSON.stringify(value)}`);
  return Number(value);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { only: { type: "string" }, out: { type: "string" }, timeout: { type: "string" } },
  });
  const timeoutSeconds = parseTimeout(values.timeout);
  const progress = new Progress((line) => process.stderr.write(`${line}\n`));
  const cancel = progress.deadline(timeoutSeconds * 1000, (message) => {
    process.stderr.write(`npm run image: ${message}\n`);
    process.exit(1);
  });
  let results;
  try {
    results = await buildImages({
      repoRoot,
      outDir: values.out ?? join(repoRoot, ".images"),
      only: parseOnly(values.only),
      epoch: sourceDateEpoch(),
      progress,
    });
  } finally {
    cancel();
  }
  for (const result of results) process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
  process.stderr.write(`npm run image: ${message}${cause}\n`);
  process.exitCode = 1;
});
