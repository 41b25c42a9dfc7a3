import { existsSync } from "node:fs";
import { readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { isRecord } from "../../../router/config/json.js";
import { HarnessError } from "../tools.js";
import { RESTORED_SYSCTLS, RUNTIME_PATHS, SHARED_PATHS, STATE_FILE } from "./constants.js";
import { readSysctls } from "./exec.js";
import { cgroupHierarchies, kubepodsCgroups, mountPoints, nftObjects } from "./host-probe.js";
import { nftSnapshot, type NftSnapshot } from "./nft-plan.js";

/** A daemon the cluster started: enough to find it again (and not a recycled pid) after a crash. */
export interface DaemonRecord {
  readonly pid: number;
  readonly exe: string;
}

/**
 * What the host looked like before the cluster touched it, and what the cluster started. Written to
 * /run/routewise-cluster.state.json before the first change and removed after the host is restored, so its
 * presence means a run crashed and the next run (or `npm run cluster -- --cleanup`) must restore from it.
 */
export interface HostState {
  readonly version: 2;
  readonly ownerPid: number;
  readonly dir: string;
  readonly startedAt: string;
  readonly sysctls: Readonly<Record<string, string>>;
  readonly links: readonly string[];
  readonly mounts: readonly string[];
  /** RUNTIME_PATHS and SHARED_PATHS that existed before (they are kept; the others are removed). */
  readonly existingPaths: readonly string[];
  /** Every nft table (with its handle), chain, rule handle and named object before start. */
  readonly nft: NftSnapshot;
  /** kubepods cgroups that existed before (normally none). */
  readonly cgroups: readonly string[];
  readonly daemons: Readonly<Record<string, DaemonRecord>>;
}

async function linkNames(): Promise<string[]> {
  return (await readdir("/sys/class/net")).sort();
}

/** Records the host as it is now (call before changing anything). */
export async function snapshotHost(dir: string): Promise<HostState> {
  return {
    version: 2,
    ownerPid: process.pid,
    dir,
    startedAt: new Date().toISOString(),
    sysctls: await readSysctls(RESTORED_SYSCTLS),
    links: await linkNames(),
    mounts: await mountPoints(),
    existingPaths: [...RUNTIME_PATHS, ...SHARED_PATHS].filter((path) => existsSync(path)),
    nft: nftSnapshot(await nftObjects()),
    cgroups: kubepodsCgroups(await cgroupHierarchies()),
    daemons: {},
  };
}

/** Writes the state file atomically. */
export async function saveState(state: HostState): Promise<void> {
  const tmp = `${STATE_FILE}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, STATE_FILE);
}

const stringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === "string");

function stringRecord(value: unknown): Record<string, string> | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== "string") return undefined;
    out[key] = item;
  }
  return out;
}

function daemonRecords(value: unknown): Record<string, DaemonRecord> | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, DaemonRecord> = {};
  for (const [key, item] of Object.entries(value)) {
    if (!isRecord(item) || typeof item["pid"] !== "number" || typeof item["exe"] !== "string") return undefined;
    out[key] = { pid: item["pid"], exe: item["exe"] };
  }
  return out;
}

const records = (value: unknown): Record<string, unknown>[] | undefined =>
  Array.isArray(value) && value.every(isRecord) ? value : undefined;

/**
 * The recorded nft objects, or undefined when the value is not an NftSnapshot. The arrays are read back through
 * nftSnapshot() (the same reader as `nft -j` output), so an entry missing a field makes the file invalid.
 */
function parseNft(value: unknown): NftSnapshot | undefined {
  if (!isRecord(value)) return undefined;
  const parts = { table: records(value["tables"]), chain: records(value["chains"]), rule: records(value["rules"]) };
  const named = records(value["named"]);
  if (!parts.table || !parts.chain || !parts.rule || !named) return undefined;
  const objects = [
    ...Object.entries(parts).flatMap(([kind, list]) => (list ?? []).map((fields) => ({ kind, fields }))),
    ...named.map((fields) => ({ kind: String(fields["kind"]), fields })),
  ];
  const snapshot = nftSnapshot(objects);
  const count = snapshot.tables.length + snapshot.chains.length + snapshot.rules.length + snapshot.named.length;
  return count === objects.length ? snapshot : undefined;
}

/** Parses a state file's JSON; throws a HarnessError naming the file when it is not one. */
export function parseState(value: unknown): HostState {
  const bad = (): never => {
    throw new HarnessError(`${STATE_FILE} is not a cluster state file; inspect the host and remove it by hand`);
  };
  if (!isRecord(value) || value["version"] !== 2) return bad();
  const sysctls = stringRecord(value["sysctls"]);
  const daemons = daemonRecords(value["daemons"]);
  const nft = parseNft(value["nft"]);
  const { ownerPid, dir, startedAt, links, mounts, existingPaths, cgroups } = value;
  if (typeof ownerPid !== "number" || typeof dir !== "string" || typeof startedAt !== "string") return bad();
  if (!stringArray(links) || !stringArray(mounts) || !stringArray(existingPaths)) return bad();
  if (!nft || !stringArray(cgroups) || !sysctls || !daemons) return bad();
  return {
    version: 2,
    ownerPid,
    dir,
    startedAt,
    sysctls,
    links,
    mounts,
    existingPaths,
    nft,
    cgroups,
    daemons,
  };
}

/** The state a crashed run left, or undefined when the last run restored the host. */
export async function loadState(): Promise<HostState | undefined> {
  if (!existsSync(STATE_FILE)) return undefined;
  return parseState(JSON.parse(await readFile(STATE_FILE, "utf8")));
}

export async function removeState(): Promise<void> {
  await rm(STATE_FILE, { force: true });
}
