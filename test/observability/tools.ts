/**
 * Finds and runs the Prometheus binaries the observability tests use: Debian's `prometheus` package (installed by
 * `npm run setup:tools`) provides both `prometheus` and `promtool`; .tools/bin is searched before PATH.
 */
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { packageRoot } from "../../router/config/package-root.js";

export class MissingToolError extends Error {
  override readonly name = "MissingToolError";
}

/** The absolute path of a binary in <repo>/.tools/bin or on PATH; throws with install advice when missing. */
export function findTool(name: "prometheus" | "promtool"): string {
  const dirs = [join(packageRoot(), ".tools", "bin"), ...(process.env["PATH"] ?? "").split(delimiter)];
  for (const dir of dirs.filter((d) => d !== "")) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here: try the next directory
    }
  }
  throw new MissingToolError(
    `${name} not found in .tools/bin or PATH: run 'npm run setup:tools' or 'apt-get install -y --no-install-recommends prometheus'`,
  );
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (optionally feeding stdin) and collects its output. */
export function run(command: string, args: string[], o: { cwd?: string; stdin?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: o.cwd ?? packageRoot(), stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("close", (code) => {
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(o.stdin ?? "");
  });
}
