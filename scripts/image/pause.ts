/**
 * The pause binary of localhost/k8s-pause:1: scripts/image/pause/main.go built static with the local Go toolchain,
 * cached under ~/.cache/routewise-tools/ by the hash of its source and the Go version.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CHILD_LIMITS, childError } from "./progress.js";

/** Thrown when the pause program cannot be built. */
export class PauseBuildError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PauseBuildError";
  }
}

export const PAUSE_SOURCE_DIR: string = fileURLToPath(new URL("./pause/", import.meta.url));
const SOURCES = ["go.mod", "main.go"];

/** The cache key: sha256 of the sources and `go version`, 16 hex digits. */
export function pauseKey(sources: readonly Buffer[], goVersion: string): string {
  const hash = createHash("sha256");
  for (const s of sources) hash.update(createHash("sha256").update(s).digest("hex"));
  return hash.update(goVersion).digest("hex").slice(0, 16);
}

const GO_ENV = { CGO_ENABLED: "0", GOTOOLCHAIN: "local", GOFLAGS: "" };

/** Path of the built pause binary, building it when the cache has none for this source and Go. */
export function pauseBinary(cacheRoot = join(homedir(), ".cache", "routewise-tools")): string {
  let goVersion: string;
  try {
    goVersion = execFileSync("go", ["version"], {
      encoding: "utf8",
      env: { ...process.env, ...GO_ENV },
      ...CHILD_LIMITS,
    }).trim();
  } catch (error) {
    throw new PauseBuildError("`go version` failed: the pause image needs a Go toolchain on PATH", { cause: error });
  }
  const key = pauseKey(
    SOURCES.map((f) => readFileSync(join(PAUSE_SOURCE_DIR, f))),
    goVersion,
  );
  const dir = join(cacheRoot, `pause-${key}`);
  const binary = join(dir, "pause");
  if (existsSync(binary)) return binary;
  mkdirSync(dir, { recursive: true });
  const temp = `${binary}.tmp-${process.pid}`;
  try {
    execFileSync("go", ["build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-o", temp, "."], {
      cwd: PAUSE_SOURCE_DIR,
      env: { ...process.env, ...GO_ENV },
      stdio: ["ignore", "ignore", "pipe"],
      ...CHILD_LIMITS,
    });
  } catch (error) {
    throw new PauseBuildError(`go build of ${PAUSE_SOURCE_DIR} failed`, { cause: childError("go build", error) });
  }
  renameSync(temp, binary);
  return binary;
}
