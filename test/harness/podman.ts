/**
 * A private Podman for the `containers` suite: `podman system service` (the Docker-compatible API) on a socket in a
 * temporary directory, with its own image and container storage, its own containers.conf and registries.conf
 * (/etc/containers is never read for either, nor edited), in its own process group. What this machine kind needs
 * (docs: the "Podman and testcontainers" section of the cluster notes): cgroupfs + runc (no systemd; crun refuses
 * the hybrid cgroup layout), no default ulimits (no CAP_SYS_RESOURCE, so any setrlimit fails), no reaper image and
 * no pulls (no registry is reachable).
 *
 * stop() leaves nothing behind: containers removed, the service stopped by PID, leftover conmon helpers (exec
 * sessions keep one for 300 s) stopped by PID, overlay mounts under the directory unmounted, the directory removed.
 * The suite uses host networking and creates no bridge or rule: Podman networking that appears during the run is
 * another process's, logged as a warning and left alone — see {@link networkChanges}.
 */
import { execFile, execFileSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { ManagedProcess } from "./process.js";
import { HarnessError } from "./tools.js";
import { waitFor } from "./wait.js";

const run = promisify(execFile);

export interface PodmanService {
  /** unix:///…/podman.sock: DOCKER_HOST for testcontainers / dockerode. */
  readonly dockerHost: string;
  readonly socketPath: string;
  /** The temporary directory holding the storage, the config files, the socket and the service log. */
  readonly dir: string;
  /** Runs the podman CLI on the same storage and config as the service; resolves with stdout. */
  podman(args: readonly string[]): Promise<string>;
  /** `podman load -i`: a docker-archive tarball into this storage; resolves with the image names it held. */
  load(tarball: string): Promise<string[]>;
  /** Tears everything down (idempotent); resolves with what it had to undo, for the log. */
  stop(): Promise<string[]>;
}

/** The settings this machine kind needs; written to the file CONTAINERS_CONF names. */
export function containersConf(dir: string): string {
  return [
    "[containers]",
    "# No CAP_SYS_RESOURCE here: any rlimit podman sets fails (setrlimit RLIMIT_NOFILE: Operation not permitted).",
    "default_ulimits = []",
    "",
    "[engine]",
    "# No systemd; crun refuses the hybrid cgroup layout.",
    'cgroup_manager = "cgroupfs"',
    'runtime = "runc"',
    "# No journald; and nothing in /run/libpod shared with another podman.",
    'events_logger = "file"',
    `tmp_dir = "${join(dir, "tmp")}"`,
    "",
    "[network]",
    "# Networks podman might create live here, not in /etc/cni/net.d (the suite creates none: host networking).",
    `network_config_dir = "${join(dir, "networks")}"`,
    "",
  ].join("\n");
}

/** Short names never resolve to a registry (there is none to reach); the suite uses localhost/… names only. */
const REGISTRIES_CONF = 'unqualified-search-registries = []\nshort-name-mode = "disabled"\n';

const DIR_PREFIX = "routewise-podman-";

/** Starts the service on fresh storage under a new temporary directory and waits until it answers /_ping. */
export async function startPodmanService(o: { log?: (line: string) => void } = {}): Promise<PodmanService> {
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  for (const sub of ["root", "runroot", "tmp", "networks"]) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, "containers.conf"), containersConf(dir));
  writeFileSync(join(dir, "registries.conf"), REGISTRIES_CONF);
  const env = {
    ...process.env,
    CONTAINERS_CONF: join(dir, "containers.conf"),
    CONTAINERS_REGISTRIES_CONF: join(dir, "registries.conf"),
  };
  const globalFlags = ["--root", join(dir, "root"), "--runroot", join(dir, "runroot")];
  globalFlags.push("--cgroup-manager", "cgroupfs", "--runtime", "runc");
  const podman = async (args: readonly string[]): Promise<string> => {
    try {
      const { stdout } = await run("podman", [...globalFlags, ...args], { env, maxBuffer: 64 * 1024 * 1024 });
      return stdout;
    } catch (err) {
      const stderr = (err as { stderr?: unknown }).stderr;
      throw new HarnessError(`podman ${args.join(" ")} failed: ${String(stderr ?? err)}`, { cause: err });
    }
  };
  const before = networkFootprint();
  const socketPath = join(dir, "podman.sock");
  const service = ManagedProcess.start(
    "podman system service",
    "/usr/bin/env",
    envArgs(env, ["podman", ...globalFlags, "system", "service", "--time=0", `unix://${socketPath}`]),
    join(dir, "service.log"),
  );
  writeFileSync(join(dir, "service.pid"), String(service.pid ?? ""));
  const stop = once(() => teardown({ dir, podman, service, before, log: o.log ?? (() => undefined) }));
  try {
    await waitFor(async () => !service.exit && (await ping(socketPath)), 60_000, {
      description: "podman system service to answer /_ping",
      intervalMs: 200,
    });
  } catch (err) {
    const tail = service.logTail();
    await stop();
    throw new HarnessError(`podman system service did not start:\n${tail}`, { cause: err });
  }
  return {
    dockerHost: `unix://${socketPath}`,
    socketPath,
    dir,
    podman,
    load: async (tarball) => {
      const out = await podman(["load", "--quiet", "-i", tarball]);
      return [...out.matchAll(/Loaded image(?:\(s\))?: *(.+)/g)].flatMap((m) =>
        (m[1] ?? "").split(",").map((s) => s.trim()),
      );
    },
    stop,
  };
}

/** The env CONTAINERS_CONF & co. must reach the service; ManagedProcess passes only its own env, so via env(1). */
function envArgs(env: Record<string, string | undefined>, argv: string[]): string[] {
  const pick = ["CONTAINERS_CONF", "CONTAINERS_REGISTRIES_CONF"].map((k) => `${k}=${env[k] ?? ""}`);
  return [...pick, ...argv];
}

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => (result ??= fn());
}

async function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", method: "GET", timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

interface TeardownInput {
  dir: string;
  podman: (args: readonly string[]) => Promise<string>;
  service: ManagedProcess;
  before: NetworkFootprint;
  log: (line: string) => void;
}

/**
 * Cleans up after runs that never reached their teardown (the test runner killed): every routewise-podman-*
 * directory whose service is gone — its conmon and container processes stopped by PID, its mounts unmounted, the
 * directory removed. A directory whose service still runs (another run in progress), or that is younger than two
 * minutes and has no service yet, is left alone.
 */
export async function sweepStaleServices(log: (line: string) => void = () => undefined): Promise<void> {
  for (const entry of readdirSync(tmpdir()).filter((e) => e.startsWith(DIR_PREFIX))) {
    const dir = join(tmpdir(), entry);
    if (serviceRunning(dir)) continue;
    for (const p of processesUnder(dir)) await stopPid(p.pid);
    for (const mount of mountsUnder(dir)) await run("umount", ["--lazy", mount]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    log(`removed the leftovers of an earlier run in ${dir}`);
  }
}

function serviceRunning(dir: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dir, "service.pid"), "utf8"));
  } catch {
    try {
      return Date.now() - statSync(dir).mtimeMs < 120_000;
    } catch {
      return true;
    }
  }
  return processesUnder(dir).some((p) => p.pid === pid);
}

async function teardown(t: TeardownInput): Promise<string[]> {
  const undone: string[] = [];
  const ignore = (): void => undefined;
  await t.podman(["rm", "--all", "--force", "--time", "10"]).catch(ignore);
  const networks = await t.podman(["network", "ls", "--format", "{{.Name}}"]).catch(() => "");
  for (const name of networks.split("\n").filter((n) => n !== "" && n !== "podman")) {
    await t.podman(["network", "rm", "--force", name]).catch(ignore);
    undone.push(`removed podman network ${name}`);
  }
  await t.service.stop(15_000);
  for (const pid of processesUnder(t.dir)) {
    undone.push(`stopped leftover ${pid.name} (pid ${pid.pid})`);
    await stopPid(pid.pid);
  }
  for (const mount of mountsUnder(t.dir)) {
    await run("umount", [mount]).catch(() => run("umount", ["--lazy", mount]).catch(ignore));
  }
  rmSync(t.dir, { recursive: true, force: true });
  for (const line of undone) t.log(line);
  for (const change of networkChanges(t.before, networkFootprint())) {
    t.log(
      `warning: appeared in the host's networking during the run, not ours (host networking), left alone: ${change}`,
    );
  }
  return undone;
}

/** Processes (conmon, a stray container process) whose command line names the directory, e.g. its runroot. */
export function processesUnder(dir: string): { pid: number; name: string }[] {
  const found: { pid: number; name: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (argv.some((a) => a.includes(dir))) found.push({ pid, name: basename(argv[0] ?? "?") });
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

async function stopPid(pid: number): Promise<void> {
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 50 && alive(); i++) await sleep(100);
  if (alive()) process.kill(pid, "SIGKILL");
}

/** Mount points at or below `dir` (overlay layers, shm), deepest first. */
export function mountsUnder(dir: string): string[] {
  const unescape = (s: string): string =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((line) => unescape(line.split(" ")[1] ?? ""))
    .filter((mp) => mp === dir || mp.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** What Podman can change in the host's networking: IP forwarding, bridges, iptables rules and chains. */
export interface NetworkFootprint {
  ipv4Forward: string;
  ipv6Forward: string;
  /** Podman's bridges (cni-podman0, podman1) and the veths attached to them. */
  links: string[];
  /** `iptables-save` rules (-A lines) per table ("nat", "filter"). */
  iptables: Record<string, string[]>;
}

const IPTABLES_TABLES = ["nat", "filter"] as const;
const PODMAN_BRIDGE = /^(cni-podman|podman)\d+$/;
/** Podman's CNI rules carry `-m comment --comment "name: \"podman\" id: \"<container>\""` or name its bridge. */
const PODMAN_RULE = /name: \\"podman\\"|cni-podman\d|podman\d/;

export function networkFootprint(): NetworkFootprint {
  return {
    ipv4Forward: readSys("/proc/sys/net/ipv4/ip_forward"),
    ipv6Forward: readSys("/proc/sys/net/ipv6/conf/all/forwarding"),
    links: podmanLinks(),
    iptables: Object.fromEntries(IPTABLES_TABLES.map((t) => [t, iptablesRules(t)])),
  };
}

function readSys(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return "?";
  }
}

/** Podman's bridges, and interfaces enslaved to one (never another tool's veths: containerd's CNI makes those too). */
function podmanLinks(): string[] {
  let names: string[];
  try {
    names = readdirSync("/sys/class/net");
  } catch {
    return [];
  }
  const master = (n: string): string => {
    try {
      return basename(readlinkSync(`/sys/class/net/${n}/master`));
    } catch {
      return "";
    }
  };
  return names.filter((n) => PODMAN_BRIDGE.test(n) || PODMAN_BRIDGE.test(master(n)));
}

function iptablesRules(table: string): string[] {
  try {
    // Synchronous on purpose: a snapshot, taken twice per run.
    const out = execFileSync("iptables-save", ["-t", table], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return out.split("\n").filter((l) => l.startsWith("-A "));
  } catch {
    return [];
  }
}

/**
 * What appeared in the host's networking between two footprints: new Podman bridges or veths, new Podman iptables
 * rules (its CNI comment or bridge name), IP forwarding switched on. The suite's containers use host networking and
 * create none of these, so whatever appeared is another process's (another podman on the machine): it is named, for
 * a warning, and never deleted or reset.
 */
export function networkChanges(before: NetworkFootprint, after: NetworkFootprint): string[] {
  const changes: string[] = [];
  for (const table of IPTABLES_TABLES) {
    const old = new Set(before.iptables[table] ?? []);
    for (const rule of after.iptables[table] ?? []) {
      if (!old.has(rule) && PODMAN_RULE.test(rule)) changes.push(`iptables -t ${table}: ${rule}`);
    }
  }
  for (const link of after.links.filter((l) => !before.links.includes(l))) changes.push(`link ${link}`);
  for (const [path, was, now] of [
    ["/proc/sys/net/ipv4/ip_forward", before.ipv4Forward, after.ipv4Forward],
    ["/proc/sys/net/ipv6/conf/all/forwarding", before.ipv6Forward, after.ipv6Forward],
  ] as const) {
    if (was === "0" && now !== "0") changes.push(`${path} ${was} → ${now}`);
  }
  return changes;
}
