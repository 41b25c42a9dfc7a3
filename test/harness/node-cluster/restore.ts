import { existsSync } from "node:fs";
import { readdir, readlink, rm, rmdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { isRecord } from "../../../router/config/json.js";
import { HarnessError } from "../tools.js";
import { GUARD_TABLE, MOUNT_PREFIXES, NODE_BRIDGE, POD_BRIDGE, RUNTIME_PATHS } from "./constants.js";
import { errorMessage, readSysctl, run, writeSysctl } from "./exec.js";
import {
  cgroupHierarchies,
  cgroupPids,
  cgroupTree,
  exeOf,
  kubepodsCgroups,
  mountPoints,
  nftObjects,
  pidsByExe,
  tableKey,
  type NftObject,
} from "./host-probe.js";
import { removeState, type HostState } from "./state.js";

/** What restoreHost() changed back. */
export interface RestoreReport {
  readonly killed: number;
  readonly unmounted: number;
  readonly links: readonly string[];
  readonly nft: readonly string[];
  readonly sysctls: readonly string[];
  readonly cgroups: number;
  readonly paths: readonly string[];
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitGone(pids: readonly number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(alive)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/** SIGTERM, then SIGKILL, each pid whose executable is still the recorded one (never a recycled pid). */
async function stopRecordedDaemons(state: HostState): Promise<number> {
  const pids: number[] = [];
  for (const record of Object.values(state.daemons)) {
    if ((await exeOf(record.pid)) !== record.exe) continue;
    process.kill(record.pid, "SIGTERM");
    pids.push(record.pid);
  }
  if (!(await waitGone(pids, 15_000))) for (const pid of pids.filter(alive)) process.kill(pid, "SIGKILL");
  await waitGone(pids, 5_000);
  return pids.length;
}

/** SIGKILLs the shims (found by their executable) and every process left in the kubepods cgroups. */
async function killContainers(state: HostState, shimExe: string): Promise<number> {
  const pids = new Set(await pidsByExe(new Set([shimExe])));
  const groups = kubepodsCgroups(await cgroupHierarchies()).filter((g) => !state.cgroups.includes(g));
  for (const group of groups) for (const pid of await cgroupPids(group)) pids.add(pid);
  pids.delete(process.pid);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await waitGone([...pids], 10_000);
  return pids.size;
}

function ourMount(path: string, original: ReadonlySet<string>): boolean {
  if (original.has(path)) return false;
  return path === "/run/netns" || MOUNT_PREFIXES.some((prefix) => path === prefix || path.startsWith(prefix));
}

/** Unmounts what the runtime and kubelet mounted (deepest first), lazily when a mount is busy. */
async function unmountAll(state: HostState, errors: string[]): Promise<number> {
  const original = new Set(state.mounts);
  let count = 0;
  for (let pass = 0; pass < 4; pass++) {
    const ours = (await mountPoints()).filter((path) => ourMount(path, original));
    if (ours.length === 0) return count;
    ours.sort((a, b) => b.length - a.length);
    for (const path of ours) {
      const plain = await run("umount", [path], { allowFailure: true });
      const ok = plain.code === 0 || (await run("umount", ["-l", path], { allowFailure: true })).code === 0;
      if (ok) count++;
      else if (pass === 3) errors.push(`cannot unmount ${path}: ${plain.stderr.trim()}`);
    }
  }
  return count;
}

/** Removes containerd's network namespace files (cni-<uuid>) left in /run/netns. */
async function removeNetnsFiles(): Promise<void> {
  if (!existsSync("/run/netns")) return;
  for (const name of await readdir("/run/netns")) {
    if (name.startsWith("cni-")) await rm(join("/run/netns", name), { force: true });
  }
}

async function masterOf(link: string): Promise<string | undefined> {
  try {
    return basename(await readlink(`/sys/class/net/${link}/master`));
  } catch {
    return undefined;
  }
}

/** Deletes the pods' veths, cni0 and the node bridge (its route goes with it): links that were not there before. */
async function deleteLinks(state: HostState, errors: string[]): Promise<string[]> {
  const original = new Set(state.links);
  const now = (await readdir("/sys/class/net")).filter((name) => !original.has(name));
  const veths: string[] = [];
  for (const name of now) if ((await masterOf(name)) === POD_BRIDGE) veths.push(name);
  const bridges = now.filter((name) => name === POD_BRIDGE || name === NODE_BRIDGE);
  const deleted: string[] = [];
  for (const name of [...veths, ...bridges]) {
    const result = await run("ip", ["link", "delete", name], { allowFailure: true });
    if (result.code === 0 || !existsSync(`/sys/class/net/${name}`)) deleted.push(name);
    else errors.push(`cannot delete link ${name}: ${result.stderr.trim()}`);
  }
  return deleted;
}

/** Chains the kubelet, kube-proxy (iptables mode) and CNI portmap create in the iptables-nft tables. */
const isOurChain = (name: unknown): boolean =>
  typeof name === "string" &&
  (name.startsWith("KUBE-") || name.startsWith("CNI-HOSTPORT-") || name.startsWith("CNI-DN-"));

/** True when a rule's expressions jump or go to one of our chains. */
function jumpsToOurs(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(jumpsToOurs);
  if (typeof value !== "object" || value === null) return false;
  for (const [key, item] of Object.entries(value)) {
    if (key === "jump" || key === "goto") {
      if (isRecord(item) && isOurChain(item["target"])) return true;
    } else if (jumpsToOurs(item)) return true;
  }
  return false;
}

const OUR_TABLES = new Set([`inet ${GUARD_TABLE}`, "ip kube-proxy", "ip6 kube-proxy"]);

async function nft(args: readonly string[], errors: string[]): Promise<boolean> {
  const result = await run("nft", args, { allowFailure: true });
  if (result.code !== 0) errors.push(`nft ${args.join(" ")}: ${result.stderr.trim()}`);
  return result.code === 0;
}

/** Deletes our rules (in or jumping to our chains), then our chains, in tables that stay. */
async function deleteOurRulesAndChains(objects: readonly NftObject[], errors: string[]): Promise<string[]> {
  const done: string[] = [];
  for (const { kind, fields } of objects) {
    if (kind !== "rule" || OUR_TABLES.has(tableKey(fields))) continue;
    if (!isOurChain(fields["chain"]) && !jumpsToOurs(fields["expr"])) continue;
    const [family, table] = tableKey(fields).split(" ");
    const args = ["delete", "rule", String(family), String(table), String(fields["chain"]), "handle"];
    if (await nft([...args, String(fields["handle"])], errors)) done.push(`rule in ${String(fields["chain"])}`);
  }
  for (const { kind, fields } of objects) {
    if (kind !== "chain" || OUR_TABLES.has(tableKey(fields)) || !isOurChain(fields["name"])) continue;
    const [family, table] = tableKey(fields).split(" ");
    const args = ["delete", "chain", String(family), String(table), String(fields["name"])];
    if (await nft(args, errors)) done.push(`chain ${tableKey(fields)} ${String(fields["name"])}`);
  }
  return done;
}

/** A table iptables-nft made for the cluster: new since the snapshot and, without our chains, empty. */
function isEmptyTable(key: string, objects: readonly NftObject[]): boolean {
  const inTable = objects.filter((o) => o.kind !== "table" && tableKey(o.fields) === key);
  const rules = inTable.filter((o) => o.kind === "rule");
  const chains = inTable.filter((o) => o.kind === "chain");
  const acceptingBase = chains.every((c) => c.fields["hook"] !== undefined && c.fields["policy"] !== "drop");
  return rules.length === 0 && acceptingBase && inTable.every((o) => o.kind === "rule" || o.kind === "chain");
}

/** Puts the nft ruleset back: our tables go, our rules and chains go from shared tables, new empty tables go. */
async function restoreNft(state: HostState, errors: string[]): Promise<string[]> {
  const original = new Set(state.nftTables);
  const done = await deleteOurRulesAndChains(await nftObjects(), errors);
  const objects = await nftObjects();
  for (const { kind, fields } of objects) {
    if (kind !== "table") continue;
    const key = tableKey(fields);
    if (original.has(key) || !(OUR_TABLES.has(key) || isEmptyTable(key, objects))) continue;
    const [family, name] = key.split(" ");
    if (await nft(["delete", "table", String(family), String(name)], errors)) done.push(`table ${key}`);
  }
  return done;
}

async function restoreSysctls(state: HostState, errors: string[]): Promise<string[]> {
  const changed: string[] = [];
  for (const [name, value] of Object.entries(state.sysctls)) {
    if ((await readSysctl(name)) === value) continue;
    try {
      await writeSysctl(name, value);
      changed.push(`${name}=${value}`);
    } catch (error) {
      errors.push(`cannot restore ${name}=${value}: ${errorMessage(error)}`);
    }
  }
  return changed;
}

/** rmdir of one cgroup, retried: a cgroup may linger briefly after its last process exits. */
async function removeCgroup(dir: string, errors: string[]): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(dir);
      return true;
    } catch (error) {
      if (!existsSync(dir)) return false;
      if (attempt >= 20) {
        errors.push(`cannot remove cgroup ${dir}: ${errorMessage(error)}`);
        return false;
      }
      await sleep(250);
    }
  }
}

/** Removes the kubepods cgroup trees (deepest first) in every hierarchy. */
async function removeCgroups(state: HostState, errors: string[]): Promise<number> {
  let removed = 0;
  const groups = kubepodsCgroups(await cgroupHierarchies()).filter((g) => !state.cgroups.includes(g));
  for (const group of groups) {
    for (const dir of await cgroupTree(group)) if (await removeCgroup(dir, errors)) removed++;
  }
  return removed;
}

/** Removes the runtime paths that did not exist before; never one with a mount still below it. */
async function removePaths(state: HostState, errors: string[]): Promise<string[]> {
  const removed: string[] = [];
  const mounts = await mountPoints();
  for (const path of RUNTIME_PATHS) {
    if (state.existingPaths.includes(path) || !existsSync(path)) continue;
    if (mounts.some((m) => m === path || m.startsWith(`${path}/`))) {
      errors.push(`not removing ${path}: something is still mounted below it`);
      continue;
    }
    if (path === "/run/netns" && (await readdir(path)).length > 0) continue; // someone else's namespaces
    await rm(path, { recursive: true, force: true });
    removed.push(path);
  }
  return removed;
}

/**
 * Restores the host to the recorded state: stops any daemon still running, kills shims and container processes by
 * pid, unmounts, deletes links, nft rules and cgroups, writes the sysctls back, removes the runtime dirs, then
 * removes the state file. Tries every step; throws one HarnessError listing what could not be restored.
 */
export async function restoreHost(state: HostState, shimExe: string): Promise<RestoreReport> {
  const errors: string[] = [];
  const killed = (await stopRecordedDaemons(state)) + (await killContainers(state, shimExe));
  const unmounted = await unmountAll(state, errors);
  await removeNetnsFiles();
  const links = await deleteLinks(state, errors);
  const nftDone = await restoreNft(state, errors);
  const sysctls = await restoreSysctls(state, errors);
  const cgroups = await removeCgroups(state, errors);
  const paths = await removePaths(state, errors);
  if (errors.length > 0) {
    throw new HarnessError(`the host was not fully restored (state kept in place):\n- ${errors.join("\n- ")}`);
  }
  await removeState();
  return { killed, unmounted, links, nft: nftDone, sysctls, cgroups, paths };
}
