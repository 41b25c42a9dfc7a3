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

/** "family name" of every nft table. */
export async function nftTables(): Promise<string[]> {
  return (await nftObjects())
    .filter((o) => o.kind === "table")
    .map((o) => tableKey(o.fields))
    .sort();
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

/** Pids of the processes whose executable is one of `exes` (resolved paths). */
export async function pidsByExe(exes: ReadonlySet<string>): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const exe = await exeOf(pid);
    if (exe !== undefined && exes.has(exe)) pids.push(pid);
  }
  return pids;
}
