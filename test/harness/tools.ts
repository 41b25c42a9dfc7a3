import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Thrown when the control-plane harness cannot find, start or talk to a tool. */
export class HarnessError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HarnessError";
  }
}

/** Absolute path of the repository root (this file lives in test/harness/). */
export const repoRoot: string = fileURLToPath(new URL("../../", import.meta.url));

/** Where scripts/setup-tools.sh puts the binaries; ROUTEWISE_TOOLS_BIN overrides it. */
export function toolsBinDir(): string {
  return process.env["ROUTEWISE_TOOLS_BIN"] ?? join(repoRoot, ".tools", "bin");
}

/** Path of a tool in the tools dir; throws a HarnessError telling how to install it when missing. */
export function toolPath(name: string, binDir: string = toolsBinDir()): string {
  const path = join(binDir, name);
  if (!existsSync(path)) {
    throw new HarnessError(`${name} not found at ${path}: run \`npm run setup:tools\` first`);
  }
  return path;
}

/** Versions pinned in scripts/tool-versions.env. */
export interface ToolVersions {
  readonly kubernetes: string;
  readonly etcd: string;
  readonly helm: string;
}

/** Parses scripts/tool-versions.env (KEY=VALUE lines, # comments). */
export function pinnedToolVersions(): ToolVersions {
  const file = join(repoRoot, "scripts", "tool-versions.env");
  const values = parseEnvFile(readFileSync(file, "utf8"));
  const get = (key: string): string => {
    const value = values.get(key);
    if (value === undefined || value === "") throw new HarnessError(`${key} is not set in ${file}`);
    return value;
  };
  return { kubernetes: get("K8S_VERSION"), etcd: get("ETCD_VERSION"), helm: get("HELM_VERSION") };
}

function parseEnvFile(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const eq = line.indexOf("=");
    if (line.startsWith("#") || eq <= 0) continue;
    values.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return values;
}
