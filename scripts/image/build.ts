/**
 * Builds the images from this host: compiles dist/ with tsc, lists the production dependencies with npm, asks ldd
 * for libraries, builds pause with Go, then writes each image as a docker-archive under the output dir.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { ArchiveBuilder, type ImageResult, type ImageSpec } from "./archive.js";
import { productionStage } from "./dockerfile.js";
import { baseLayer, nodeLayer, pauseImage, redisImage, redisVersion, routewiseImage } from "./images.js";
import { pauseBinary } from "./pause.js";
import { CHILD_LIMITS, childError, Progress } from "./progress.js";
import { sharedLibraries } from "./rootfs.js";

const execFileAsync = promisify(execFile);

export const IMAGE_KEYS = ["routewise", "pause", "redis"] as const;
export type ImageKey = (typeof IMAGE_KEYS)[number];

export interface BuildOptions {
  readonly repoRoot: string;
  readonly outDir: string;
  readonly only: readonly ImageKey[];
  /** Seconds since the epoch for every mtime and `created` (SOURCE_DATE_EPOCH). */
  readonly epoch: number;
  readonly redisServer?: string;
  /** Where each step's time is reported (default: nowhere). */
  readonly progress?: Progress;
}

/** SOURCE_DATE_EPOCH if set (a non-negative integer), else 0. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env["SOURCE_DATE_EPOCH"];
  if (raw === undefined || raw === "") return 0;
  if (!/^\d+$/.test(raw))
    throw new Error(`SOURCE_DATE_EPOCH must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** Production package dirs relative to the repo, from `npm ls --omit=dev --all --parseable`. */
export function productionPackages(repoRoot: string, npmLsOutput: string): string[] {
  return npmLsOutput
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map((line) => relative(repoRoot, line))
    .filter((rel) => rel.startsWith("node_modules/"))
    .sort();
}

async function compile(repoRoot: string, outDir: string): Promise<void> {
  await execFileAsync(
    join(repoRoot, "node_modules", ".bin", "tsc"),
    ["-p", "tsconfig.build.json", "--outDir", outDir],
    { cwd: repoRoot, maxBuffer: 64 << 20, ...CHILD_LIMITS },
  ).catch((error: unknown) => {
    throw childError("tsc", error);
  });
}

async function npmLs(repoRoot: string): Promise<string> {
  const { stdout } = await execFileAsync("npm", ["ls", "--omit=dev", "--all", "--parseable"], {
    cwd: repoRoot,
    maxBuffer: 64 << 20,
    ...CHILD_LIMITS,
  }).catch((error: unknown) => {
    throw childError("npm ls", error);
  });
  return stdout;
}

/** Builds the chosen images; returns one result per image in IMAGE_KEYS order. */
export async function buildImages(options: BuildOptions): Promise<ImageResult[]> {
  mkdirSync(options.outDir, { recursive: true });
  const scratch = mkdtempSync(join(tmpdir(), "routewise-image-"));
  const progress = options.progress ?? new Progress();
  try {
    const node = realpathSync(process.execPath);
    const base = baseLayer(sharedLibraries(node));
    const specs: ImageSpec[] = [];
    if (options.only.includes("routewise")) {
      specs.push(await routewiseSpec(options.repoRoot, scratch, base, node, progress));
    }
    if (options.only.includes("pause")) {
      specs.push(pauseImage(await progress.step("pause binary (go build, or the cache)", () => pauseBinary())));
    }
    if (options.only.includes("redis")) specs.push(redisSpec(base, options.redisServer ?? "/usr/bin/redis-server"));
    const builder = new ArchiveBuilder(scratch, options.epoch);
    const results: ImageResult[] = [];
    for (const spec of specs) {
      const path = join(options.outDir, `${spec.key}.tar`);
      results.push(await progress.step(`write ${path}`, () => builder.write(spec, path)));
    }
    return results;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function routewiseSpec(
  repoRoot: string,
  scratch: string,
  base: ReturnType<typeof baseLayer>,
  node: string,
  progress: Progress,
): Promise<ImageSpec> {
  const stage = productionStage(readFileSync(join(repoRoot, "Dockerfile"), "utf8"));
  const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };
  const distDir = join(scratch, "dist");
  const [, ls] = await Promise.all([
    progress.step("compile dist (tsc)", () => compile(repoRoot, distDir)),
    progress.step("list production packages (npm ls)", () => npmLs(repoRoot)),
  ]);
  const baseLibs = new Set(base.entries.map((e) => `/${e.path}`));
  return routewiseImage(stage, {
    repoRoot,
    version: pkg.version,
    distDir,
    packages: productionPackages(repoRoot, ls),
    base,
    node: nodeLayer(node),
    nativeLibraries: (files) =>
      [
        ...new Set(
          files
            .flatMap((f) => sharedLibraries(f))
            .filter((lib) => !baseLibs.has(lib) && !lib.includes("/node_modules/")),
        ),
      ].sort(),
  });
}

function redisSpec(base: ReturnType<typeof baseLayer>, redisServer: string): ImageSpec {
  const version = redisVersion(execFileSync(redisServer, ["--version"], { encoding: "utf8", ...CHILD_LIMITS }));
  return redisImage(base, redisServer, sharedLibraries(redisServer), version);
}
