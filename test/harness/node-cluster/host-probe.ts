import { existsSync } from "node:fs";
import { readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import { isRecord } from "../../../router/config/json.js";
import { run } from "./exec.js";

/** Undoes mountinfo's octal escapes (\040 is a space). */
function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Mount points of this mount namespace, in mount order (a path mounted twice appears twice). */
export async function mountPoints(): Promise<string[]> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => unescapeMount(line.split(" ")[4] ?? ""));
}

/** One object of `nft -j list ruleset`: its kind ("table", "chain", "rule", ...) and fields. */
export interface NftObject {
  readonly kind: string;
  readonly fields: Record<string, unknown>;
}

/** `nft -j list ruleset`, flattened. */
export async function nftObjects(): Promise<NftObject[]> {
  const { stdout } = await run("nft", ["-j", "list", "ruleset"]);
  const parsed: unknown = JSON.parse(stdout);
  if (!isRecord(parsed) || !Array.isArray(parsed["nftables"])) return [];
  const out: NftObject[] = [];
  for (const entry of parsed["nftables"]) {
    if (!isRecord(entry)) continue;
    for (const [kind, fields] of Object.entries(entry)) if (isRecord(fields)) out.push({ kind, fields });
  }
  return out;
}

/** "family name" of an nft table, chain or rule object. */
export function tableKey(fields: Record<string, unknown>): string {
  const table = fields["table"] ?? fields["name"];
  return `${String(fields["family"])} ${String(table)}`;
}

/** The cgroup v1 hierarchies and the unified one (e.g. /sys/fs/cgroup/memory, /sys/fs/cgroup/unified). */
export async function cgroupHierarchies(): Promise<string[]> {
  const root = "/sys/fs/cgroup";
  if (existsSync(join(root, "cgroup.controllers"))) return [root];
  const names = await readdir(root);
  return names.map((name) => join(root, name)).filter((path) => existsSync(join(path, "cgroup.procs")));
}

/** The `kubepods` cgroups (the kubelet's cgroupfs root for pods) that exist in the given hierarchies. */
export function kubepodsCgroups(hierarchies: readonly string[]): string[] {
  return hierarchies.map((h) => join(h, "kubepods")).filter((path) => existsSync(path));
}

/** Every cgroup directory below `dir` (deepest first), `dir` included last. */
export async function cgroupTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries: string[];
  try {
    entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return out;
  }
  for (const name of entries) out.push(...(await cgroupTree(join(dir, name))));
  out.push(dir);
  return out;
}

/** Pids in a cgroup tree. */
export async function cgroupPids(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const group of await cgroupTree(dir)) {
    try {
      const text = await readFile(join(group, "cgroup.procs"), "utf8");
      for (const line of text.split("\n")) if (line !== "") pids.push(Number(line));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** The executable of a process, or undefined when it is gone (or a kernel thread). */
export async function exeOf(pid: number): Promise<string | undefined> {
  try {
    return (await readlink(`/proc/${pid}/exe`)).replace(/ \(deleted\)$/, "");
  } catch {
    return undefined;
  }
}

/** A process as the shim search sees it: its argv and parent pid. */
export interface ProcessInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly argv: readonly string[];
}

/**
 * True for a containerd shim of OUR containerd: its `-address` argument is our socket, or its parent is our
 * containerd. Never by executable: Docker's and k3s's shims run the same /usr/bin/containerd-shim-runc-v2.
 */
export function isOurShim(proc: ProcessInfo, socket: string, containerdPid: number | undefined): boolean {
  if (containerdPid !== undefined && proc.ppid === containerdPid) return true;
  const at = proc.argv.findIndex((arg) => arg === "-address" || arg === "--address");
  if (at >= 0 && proc.argv[at + 1] === socket) return true;
  return proc.argv.some((arg) => arg === `-address=${socket}` || arg === `--address=${socket}`);
}

/** argv and parent pid of a process, or undefined when it is gone (or a kernel thread). */
async function processInfo(pid: number): Promise<ProcessInfo | undefined> {
  try {
    const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").filter((arg) => arg !== "");
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    return argv.length === 0 ? undefined : { pid, ppid, argv };
  } catch {
    return undefined;
  }
}

/** Pids of the processes `match` selects. */
export async function pidsWhere(match: (proc: ProcessInfo) => boolean): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const info = await processInfo(Number(name));
    if (info !== undefined && match(info)) pids.push(info.pid);
  }
  return pids;
}
