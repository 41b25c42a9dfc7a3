import { execFile } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { CONTAINERD_STATE, RESTORED_SYSCTLS } from "../harness/node-cluster/constants.js";
import { readSysctls } from "../harness/node-cluster/exec.js";
import { toolPath } from "../harness/tools.js";

const execFileAsync = promisify(execFile);

/** What the cluster may change on the host, in a form that compares equal when it was put back. */
export interface HostSnapshot {
  readonly links: string[];
  readonly routes: string[];
  readonly netns: string[];
  readonly nftRuleset: string;
  readonly iptables: string[];
  readonly ip6tables: string[];
  readonly mounts: string[];
  readonly kubepodsCgroups: string[];
  readonly sysctls: Record<string, string>;
}

async function out(command: string, args: readonly string[]): Promise<string> {
  return (await execFileAsync(command, args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
}

const lines = (text: string): string[] =>
  text
    .split("\n")
    .map((line) => line.trimEnd())
    .filter((line) => line !== "")
    .sort();

/** iptables-save without comments and packet counters. */
async function iptablesRules(command: string): Promise<string[]> {
  const text = await out(command, []);
  return lines(text)
    .filter((line) => !line.startsWith("#"))
    .map((line) => line.replace(/\[\d+:\d+\]/g, ""));
}

/**
 * Other suites on the same machine (Podman for the containers suite) mount under their /tmp scratch dirs and may
 * add their own links and namespaces while this suite runs; the cluster never mounts under /tmp, its netns are
 * under its containerd's own state dir and its links are k8s-node0, rw-pods0 and rw-pods0's veths. Those others are left out.
 */
const foreignMount = (entry: string): boolean =>
  /^\/(tmp|run\/containers|var\/lib\/containers|run\/user)\//.test(entry);
const foreignLink = (name: string): boolean => name.startsWith("podman") || name.startsWith("cni-podman");
const foreignNetns = (line: string): boolean => !line.startsWith("cni-");

/** Snapshot of the host as far as the cluster can change it. */
export async function snapshotHost(): Promise<HostSnapshot> {
  const mountinfo = await readFile("/proc/self/mountinfo", "utf8");
  const cgroupRoot = "/sys/fs/cgroup";
  return {
    links: (await readdir("/sys/class/net")).filter((name) => !foreignLink(name)).sort(),
    routes: lines(await out("ip", ["-4", "route", "show", "table", "all"])).concat(
      lines(await out("ip", ["-6", "route", "show", "table", "all"])),
    ),
    netns: lines(await out("ip", ["netns", "list"])).filter((line) => !foreignNetns(line)),
    // -s: no counters (they move with any traffic, ours or not).
    nftRuleset: await out("nft", ["-s", "list", "ruleset"]),
    iptables: await iptablesRules("iptables-save"),
    ip6tables: await iptablesRules("ip6tables-save"),
    // Mount point and filesystem type of each mount (IDs and options change with every mount).
    mounts: lines(mountinfo)
      .map((line) => {
        const fields = line.split(" ");
        const dash = fields.indexOf("-");
        return `${fields[4] ?? ""} ${fields[dash + 1] ?? ""}`;
      })
      .filter((entry) => !foreignMount(entry))
      .sort(),
    kubepodsCgroups: (await readdir(cgroupRoot))
      .map((name) => join(cgroupRoot, name, "kubepods"))
      .filter((path) => existsSync(path)),
    // The harness's own list: every sysctl it records is one it must put back.
    sysctls: await readSysctls(RESTORED_SYSCTLS),
  };
}

/** The binaries only the single-node cluster runs (other suites run etcd and kube-apiserver of their own). */
const NODE_ONLY_TOOLS = ["kubelet", "kube-proxy", "kube-scheduler", "containerd", "containerd-shim-runc-v2", "ctr"];

/**
 * Processes left by a cluster: any running a node-only binary or runc whose command line names the cluster dir or
 * our containerd's state dir (shims: `-address`, runc: `--root`), or any other process naming the cluster dir (its
 * etcd, apiserver and controller-manager). A system containerd's or Docker's shims (same executables) are not
 * ours. Returned as "pid exe cmdline" lines.
 */
export async function clusterProcesses(clusterDir: string): Promise<string[]> {
  const exes = new Set(
    NODE_ONLY_TOOLS.map((tool) => realpathSync(toolPath(tool))).concat([realpathSync("/usr/sbin/runc")]),
  );
  const found: string[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const exe = await readlink(`/proc/${name}/exe`);
      const cmdline = (await readFile(`/proc/${name}/cmdline`, "utf8")).replaceAll("\0", " ");
      const ours = cmdline.includes(clusterDir) || (exes.has(exe) && cmdline.includes(CONTAINERD_STATE));
      if (ours) found.push(`${name} ${exe} ${cmdline.slice(0, 120)}`);
    } catch {
      // a kernel thread, or gone meanwhile
    }
  }
  return found;
}
