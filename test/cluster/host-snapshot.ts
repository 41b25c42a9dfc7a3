import { execFile } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
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

const SYSCTLS = ["kernel.panic", "kernel.panic_on_oops", "vm.overcommit_memory", "net.ipv4.ip_forward"];

/**
 * Other suites on the same machine (Podman for the containers suite) mount under their /tmp scratch dirs and may
 * add their own links and namespaces while this suite runs; the cluster never mounts under /tmp, its netns are
 * containerd's `cni-*` and its links are k8s-node0, cni0 and cni0's veths. Those others are left out.
 */
const foreignMount = (entry: string): boolean =>
  /^\/(tmp|run\/containers|var\/lib\/containers|run\/user)\//.test(entry);
const foreignLink = (name: string): boolean => name.startsWith("podman") || name.startsWith("cni-podman");
const foreignNetns = (line: string): boolean => !line.startsWith("cni-");

/** Snapshot of the host as far as the cluster can change it. */
export async function snapshotHost(): Promise<HostSnapshot> {
  const mountinfo = await readFile("/proc/self/mountinfo", "utf8");
  const sysctls: Record<string, string> = {};
  for (const name of SYSCTLS) {
    sysctls[name] = (await readFile(`/proc/sys/${name.replaceAll(".", "/")}`, "utf8")).trim();
  }
  const cgroupRoot = "/sys/fs/cgroup";
  return {
    links: (await readdir("/sys/class/net")).filter((name) => !foreignLink(name)).sort(),
    routes: lines(await out("ip", ["-4", "route", "show", "table", "all"])).concat(
      lines(await out("ip", ["-6", "route", "show", "table", "all"])),
    ),
    netns: lines(await out("ip", ["netns", "list"])).filter((line) => !foreignNetns(line)),
    nftRuleset: await out("nft", ["list", "ruleset"]),
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
    sysctls,
  };
}

/** The binaries only the single-node cluster runs (other suites run etcd and kube-apiserver of their own). */
const NODE_ONLY_TOOLS = ["kubelet", "kube-proxy", "kube-scheduler", "containerd", "containerd-shim-runc-v2", "ctr"];

/**
 * Processes left by a cluster: any running a node-only binary or runc, or whose command line names the cluster
 * dir (its etcd, apiserver and controller-manager). Returned as "pid exe" lines.
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
      if (exes.has(exe) || cmdline.includes(clusterDir)) found.push(`${name} ${exe} ${cmdline.slice(0, 120)}`);
    } catch {
      // a kernel thread, or gone meanwhile
    }
  }
  return found;
}
