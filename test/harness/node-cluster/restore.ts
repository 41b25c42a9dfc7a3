import { existsSync } from "node:fs";
import { readdir, readlink, rm, rmdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { HarnessError } from "../tools.js";
import {
  CNI_CACHE_DIR,
  CNI_NETWORK,
  CONTAINER_LOGS_DIR,
  CONTAINERD_SOCKET,
  MOUNT_ROOTS,
  NODE_BRIDGE,
  POD_BRIDGE,
  POD_LOGS_DIR,
  RUNTIME_PATHS,
  SHARED_PATHS,
} from "./constants.js";
import { errorMessage, readSysctl, run, writeSysctl } from "./exec.js";
import {
  cgroupHierarchies,
  cgroupPids,
  cgroupTree,
  exeOf,
  isOurShim,
  kubepodsCgroups,
  mountPoints,
  nftObjects,
  pidsWhere,
} from "./host-probe.js";
import { describeNftDeletion, nftDeleteArgs, nftSnapshot, planNftRestore } from "./nft-plan.js";
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

/** Sends a signal; false when the process is already gone (ESRCH), which is what the caller wanted anyway. */
function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
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
    if (signal(record.pid, "SIGTERM")) pids.push(record.pid);
  }
  if (!(await waitGone(pids, 15_000))) for (const pid of pids.filter(alive)) signal(pid, "SIGKILL");
  await waitGone(pids, 5_000);
  return pids.length;
}

/** Our containerd's pid while it still runs the recorded executable (a recycled pid is not ours). */
async function liveContainerd(state: HostState): Promise<number | undefined> {
  const record = state.daemons["containerd"];
  return record !== undefined && (await exeOf(record.pid)) === record.exe ? record.pid : undefined;
}

/**
 * SIGKILLs our shims (their `-address` is our socket, or their parent our containerd: never by executable, which
 * Docker's shims share) and every process left in the kubepods cgroups that did not exist before.
 */
async function killContainers(state: HostState): Promise<number> {
  const containerd = await liveContainerd(state);
  const pids = new Set(await pidsWhere((proc) => isOurShim(proc, CONTAINERD_SOCKET, containerd)));
  const groups = kubepodsCgroups(await cgroupHierarchies()).filter((g) => !state.cgroups.includes(g));
  for (const group of groups) for (const pid of await cgroupPids(group)) pids.add(pid);
  pids.delete(process.pid);
  for (const pid of pids) signal(pid, "SIGKILL");
  await waitGone([...pids], 10_000);
  return pids.size;
}

/** True for a mount point at or below one of our roots that was not there before. */
export function isOurMount(path: string, original: ReadonlySet<string>): boolean {
  if (original.has(path)) return false;
  return MOUNT_ROOTS.some((root) => path === root || path.startsWith(`${root}/`));
}

/** Unmounts what the runtime and kubelet mounted (deepest first), lazily when a mount is busy. */
async function unmountAll(state: HostState, errors: string[]): Promise<number> {
  const original = new Set(state.mounts);
  let count = 0;
  for (let pass = 0; pass < 4; pass++) {
    const ours = (await mountPoints()).filter((path) => isOurMount(path, original));
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

async function masterOf(link: string): Promise<string | undefined> {
  try {
    return basename(await readlink(`/sys/class/net/${link}/master`));
  } catch {
    return undefined;
  }
}

/** Deletes the pods' veths, the pod bridge and the node bridge (its route goes with it): links that were not there before. */
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

/** Deletes what is new in the nft ruleset since the state file (see planNftRestore). */
async function restoreNft(state: HostState, errors: string[]): Promise<string[]> {
  const done: string[] = [];
  for (const deletion of planNftRestore(state.nft, nftSnapshot(await nftObjects()))) {
    const args = nftDeleteArgs(deletion);
    const result = await run("nft", args, { allowFailure: true });
    if (result.code === 0) done.push(describeNftDeletion(deletion));
    else errors.push(`nft ${args.join(" ")}: ${result.stderr.trim()}`);
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
    await rm(path, { recursive: true, force: true });
    removed.push(path);
  }
  return removed;
}

/** Removes `dir` and the empty dirs below it, deepest first; keeps any dir that still holds a file. */
async function pruneEmptyDirs(dir: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) if (entry.isDirectory()) await pruneEmptyDirs(join(dir, entry.name));
  await rmdir(dir).catch(() => undefined);
}

/**
 * Shared dirs: only our files go (libcni's cached results of our network and of our sandboxes' loopback, the
 * kubelet's links into our pod log dir), then the dir itself when it did not exist before and nothing else is left in it.
 */
async function cleanSharedPaths(state: HostState): Promise<string[]> {
  const removed: string[] = [];
  const results = join(CNI_CACHE_DIR, "results");
  if (existsSync(results)) {
    const names = await readdir(results);
    // <network>-<sandbox id>-<ifname>; containerd also caches the loopback network of each of our sandboxes.
    const ours = names.filter((name) => name.startsWith(`${CNI_NETWORK}-`));
    const ids = ours.map((name) => name.slice(CNI_NETWORK.length + 1).split("-")[0] ?? "");
    for (const name of [...ours, ...ids.filter((id) => id !== "").map((id) => `cni-loopback-${id}-lo`)]) {
      if (!names.includes(name)) continue;
      await rm(join(results, name), { force: true });
      removed.push(join(results, name));
    }
  }
  if (existsSync(CONTAINER_LOGS_DIR)) {
    for (const name of await readdir(CONTAINER_LOGS_DIR)) {
      const link = join(CONTAINER_LOGS_DIR, name);
      const target = await readlink(link).catch(() => "");
      if (!target.startsWith(`${POD_LOGS_DIR}/`)) continue;
      await rm(link, { force: true });
      removed.push(link);
    }
  }
  for (const path of SHARED_PATHS) if (!state.existingPaths.includes(path)) await pruneEmptyDirs(path);
  return removed;
}

/** Runs one restore step; a step that throws is recorded and the next one still runs. */
async function step<T>(name: string, errors: string[], fallback: T, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    errors.push(`${name}: ${errorMessage(error)}`);
    return fallback;
  }
}

/**
 * Restores the host to the recorded state: stops any daemon still running, kills our shims and container
 * processes by pid, unmounts what is new under our roots, deletes new links, new nft objects and new cgroups,
 * writes the sysctls back, removes the runtime dirs and our files in shared dirs, then removes the state file.
 * Every step runs even when an earlier one failed; throws one HarnessError listing everything not restored.
 */
export async function restoreHost(state: HostState): Promise<RestoreReport> {
  const errors: string[] = [];
  const daemons = await step("stopping the daemons", errors, 0, () => stopRecordedDaemons(state));
  const containers = await step("killing the containers", errors, 0, () => killContainers(state));
  const unmounted = await step("unmounting", errors, 0, () => unmountAll(state, errors));
  const links = await step("deleting links", errors, [], () => deleteLinks(state, errors));
  const nft = await step("restoring nft", errors, [], () => restoreNft(state, errors));
  const sysctls = await step("restoring sysctls", errors, [], () => restoreSysctls(state, errors));
  const cgroups = await step("removing cgroups", errors, 0, () => removeCgroups(state, errors));
  const paths = await step("removing runtime paths", errors, [], () => removePaths(state, errors));
  const shared = await step("cleaning shared paths", errors, [], () => cleanSharedPaths(state));
  if (errors.length > 0) {
    throw new HarnessError(`the host was not fully restored (state kept in place):\n- ${errors.join("\n- ")}`);
  }
  await removeState();
  return { killed: daemons + containers, unmounted, links, nft, sysctls, cgroups, paths: [...paths, ...shared] };
}
