import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isRecord } from "./json.js";

let cached: string | null = null;

/**
 * The directory of Routewise's package.json, found by walking up from this module. Works from the sources
 * (router/config/) and from the compiled output (dist/router/config/) alike.
 */
export function packageRoot(): string {
  if (cached !== null) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "package.json");
    if (existsSync(candidate) && isRoutewisePackage(candidate)) {
      cached = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error("Could not find the routewise package root above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

function isRoutewisePackage(path: string): boolean {
  const parsed: unknown = JSON.parse(readFileSync(path, "utf8"));
  return isRecord(parsed) && parsed["name"] === "routewise";
}
