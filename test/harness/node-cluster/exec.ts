import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { HarnessError } from "../tools.js";

/** What a finished command printed. */
export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for {@link run}. */
export interface RunOptions {
  /** Written to stdin, which is then closed. */
  readonly input?: string;
  /** Resolve with the result instead of rejecting on a non-zero exit. */
  readonly allowFailure?: boolean;
  /** SIGKILL after this long (default 60 s). */
  readonly timeoutMs?: number;
}

/** Runs a short-lived command; rejects with its stderr (never its input) on a non-zero exit unless allowed. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], timeout: options.timeoutMs ?? 60_000 });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.once("error", (error) => {
      reject(new HarnessError(`${command} failed to start: ${error.message}`, { cause: error }));
    });
    child.once("close", (code) => {
      const result = { code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
      if (code === 0 || options.allowFailure === true) resolve(result);
      else
        reject(new HarnessError(`${command} ${args.join(" ")} exited with ${String(code)}: ${result.stderr.trim()}`));
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });
}

/** `/proc/sys/` path of a dotted sysctl name. */
function sysctlPath(name: string): string {
  return `/proc/sys/${name.replaceAll(".", "/")}`;
}

/** The value of a sysctl, or undefined when this kernel has none by that name. */
export async function readSysctl(name: string): Promise<string | undefined> {
  try {
    return (await readFile(sysctlPath(name), "utf8")).trim();
  } catch {
    return undefined;
  }
}

export async function writeSysctl(name: string, value: string): Promise<void> {
  await writeFile(sysctlPath(name), `${value}\n`);
}

/** Reads every named sysctl the kernel has. */
export async function readSysctls(names: readonly string[]): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const name of names) {
    const value = await readSysctl(name);
    if (value !== undefined) values[name] = value;
  }
  return values;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
