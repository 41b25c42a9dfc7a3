import { existsSync } from "node:fs";
import { createConnection } from "node:net";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { HarnessError, repoRoot, toolPath, toolsBinDir } from "../tools.js";
import {
  CNI_BIN_DIR,
  CONTAINERD_SOCKET,
  NODE_IP,
  PANIC_SYSCTLS,
  REQUIRED_TOOLS,
  RUNC,
  type DaemonName,
} from "./constants.js";
import { clusterPaths, daemonArgs, writeConfigs, type ClusterPaths } from "./config.js";
import { apiOk, containerdUp, Daemons, etcdHealthy, httpOk, importImages, kubectlWith, nodeReady } from "./daemons.js";
import { errorMessage, writeSysctl } from "./exec.js";
import { cgroupHierarchies, kubepodsCgroups } from "./host-probe.js";
import { acquireClusterLock, type ClusterLock } from "./lock.js";
import { setUpHostNetwork } from "./network.js";
import { createClusterPki, type ClusterPki } from "./pki.js";
import { restoreHost, type RestoreReport } from "./restore.js";
import { loadState, saveState, snapshotHost, type HostState } from "./state.js";

export { KUBELET_ROOT, NODE_IP, NODE_NAME, SANDBOX_IMAGE } from "./constants.js";

const TEMP_PREFIX = "routewise-cluster-";
export type { RestoreReport } from "./restore.js";

/** Options for {@link startNodeCluster}. */
export interface NodeClusterOptions {
  /** Holds configs, PKI, logs and etcd data (default: a fresh temp dir, removed by stop()). */
  readonly dir?: string;
  /** docker-save tarballs to import (default: <repo>/.images/pause.tar and routewise.tar from `npm run image`). */
  readonly images?: readonly string[];
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
  /** How long the start may take once the lock is held (default 5 min). */
  readonly startTimeoutMs?: number;
}

/** Milliseconds spent in each phase. */
export interface NodeClusterTimings {
  /** Waiting for another cluster on this machine to stop. */
  readonly lockWaitMs: number;
  /** From holding the lock to the node Ready (includes cleaning up a crashed run). */
  readonly readyMs: number;
}

/** A running single-node cluster. */
export interface NodeCluster {
  /** Admin (system:masters) kubeconfig in `dir`. */
  readonly kubeconfig: string;
  readonly nodeIP: string;
  readonly dir: string;
  readonly timings: NodeClusterTimings;
  /** Runs kubectl against the cluster as admin; resolves with stdout, rejects with stderr. */
  kubectl(args: string[], input?: string): Promise<string>;
  /** Stops every daemon, restores the host and releases the lock. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * The image tarballs to import by default: $ROUTEWISE_CLUSTER_IMAGES (comma-separated paths) when set, else the
 * ones `npm run image` writes, <repo>/.images/pause.tar and routewise.tar.
 */
export function defaultImages(): string[] {
  const fromEnv = process.env["ROUTEWISE_CLUSTER_IMAGES"];
  if (fromEnv !== undefined && fromEnv.trim() !== "") return fromEnv.split(",").filter((path) => path !== "");
  return [join(repoRoot, ".images", "pause.tar"), join(repoRoot, ".images", "routewise.tar")];
}

/** Throws a HarnessError naming what is missing: root, a tool, runc, a CNI plugin, an image tarball. */
export function preflight(binDir: string, images: readonly string[]): void {
  if (process.getuid?.() !== 0) throw new HarnessError("the single-node cluster needs root (bridges, mounts, cgroups)");
  for (const tool of REQUIRED_TOOLS) toolPath(tool, binDir);
  const missing = [RUNC, ...["bridge", "host-local", "loopback", "portmap"].map((p) => join(CNI_BIN_DIR, p))]
    .concat(["/usr/sbin/nft", "/usr/bin/flock", "/usr/bin/setpriv"])
    .filter((path) => !existsSync(path));
  if (missing.length > 0) {
    throw new HarnessError(`missing ${missing.join(", ")}: run \`npm run setup:tools\` (Debian packages) first`);
  }
  const absent = images.filter((image) => !existsSync(image));
  if (absent.length > 0)
    throw new HarnessError(`image tarball(s) not found: ${absent.join(", ")}: run \`npm run image\``);
}

/** True when something accepts connections on the unix socket at `path` (a stale socket file does not). */
export function socketLive(path: string): Promise<boolean> {
  if (!existsSync(path)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = createConnection({ path });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Refuses (before anything is changed, after a crashed run of ours was restored) when the host is in use in a way
 * the cluster would clash with: a containerd not ours on our socket, or another kubelet's kubepods cgroups (ours
 * would share them, and the restore could not tell its pods from ours).
 */
export async function checkHostFree(socket = CONTAINERD_SOCKET): Promise<void> {
  if (await socketLive(socket)) {
    throw new HarnessError(
      `a containerd this harness did not start is listening on ${socket}: stop it (or, if a cluster run crashed, ` +
        "run `npm run cluster -- --cleanup`); refusing to start",
    );
  }
  const pods = kubepodsCgroups(await cgroupHierarchies());
  if (pods.length > 0) {
    throw new HarnessError(
      `another kubelet's pod cgroups exist (${pods.join(", ")}): stop that Kubernetes node first; refusing to start`,
    );
  }
}

/** Restores the host from the state file a crashed run left; resolves with undefined when there was none. */
async function cleanUpCrashedRun(log: (line: string) => void): Promise<RestoreReport | undefined> {
  const leftover = await loadState();
  if (leftover === undefined) return undefined;
  log(`Found the state of a crashed cluster run (pid ${leftover.ownerPid}, ${leftover.startedAt}): restoring the host`);
  const report = await restoreHost(leftover);
  // A temp dir the crashed run made for itself goes too; a --dir the caller chose keeps its logs.
  if (dirname(leftover.dir) === tmpdir() && basename(leftover.dir).startsWith(TEMP_PREFIX)) {
    await rm(leftover.dir, { recursive: true, force: true });
  }
  return report;
}

/**
 * Restores the host after a crashed run (`npm run cluster -- --cleanup`): takes the lock, restores from the state
 * file if there is one. Resolves with what was restored, or undefined when the host was clean.
 */
export async function cleanUpNodeCluster(
  options: { readonly log?: (line: string) => void } = {},
): Promise<RestoreReport | undefined> {
  const log = options.log ?? (() => undefined);
  preflight(toolsBinDir(), []);
  const lock = await acquireClusterLock({ log });
  try {
    return await cleanUpCrashedRun(log);
  } finally {
    lock.release();
  }
}

interface Started {
  readonly daemons: Daemons;
  readonly pki: ClusterPki;
}

/** Control plane: etcd, then the apiserver on the node IP, then the controller-manager and scheduler. */
async function startControlPlane(daemons: Daemons, pki: ClusterPki, setup: StartSetup): Promise<void> {
  const { args, deadline } = setup;
  const left = (): number => Math.max(1, deadline - Date.now());
  await daemons.start("etcd", args.etcd);
  await daemons.wait("etcd /health", () => etcdHealthy(daemons.signal), left(), ["etcd"]);
  await daemons.start("kube-apiserver", args["kube-apiserver"]);
  await daemons.wait("kube-apiserver /readyz", () => apiOk(pki, "/readyz", daemons.signal), left(), ["kube-apiserver"]);
  await daemons.start("kube-controller-manager", args["kube-controller-manager"]);
  await daemons.start("kube-scheduler", args["kube-scheduler"]);
  await daemons.start("containerd", args.containerd);
}

/** The node: containerd with the images, the kubelet, kube-proxy; resolves once the node is Ready. */
async function startNode(daemons: Daemons, pki: ClusterPki, setup: StartSetup): Promise<void> {
  const { args } = setup;
  const left = (): number => Math.max(1, setup.deadline - Date.now());
  await daemons.wait("containerd", () => containerdUp(setup.binDir), left(), ["containerd"]);
  await importImages(setup.binDir, setup.images);
  setup.log(`Imported ${setup.images.length} image(s)`);
  await daemons.start("kubelet", args.kubelet);
  await daemons.start("kube-proxy", args["kube-proxy"]);
  const admin = pki.kubeconfigs.admin;
  await daemons.wait("node Ready", () => nodeReady(setup.binDir, admin), left(), ["kubelet", "containerd"]);
  // The kubelet set kernel.panic=10 / panic_on_oops=1 at start; a kernel oops must not reboot this VM.
  for (const name of PANIC_SYSCTLS) {
    const value = daemons.hostState.sysctls[name];
    if (value !== undefined) await writeSysctl(name, value);
  }
  const sa = (): Promise<boolean> =>
    kubectlWith(setup.binDir, admin, ["get", "serviceaccount", "default", "-n", "default", "-o", "name"]).then(
      (out) => out.trim() !== "",
    );
  await daemons.wait("the default ServiceAccount (controller-manager)", sa, left(), ["kube-controller-manager"]);
  await daemons.wait("kube-proxy /healthz", () => httpOk("http://127.0.0.1:10256/healthz", daemons.signal), left(), [
    "kube-proxy",
  ]);
}

interface StartSetup {
  readonly args: Record<DaemonName, string[]>;
  readonly binDir: string;
  readonly images: readonly string[];
  readonly deadline: number;
  readonly log: (line: string) => void;
}

/** Stops pods through the kubelet (CNI DEL, volumes unmounted), then every daemon, dependents first. */
async function stopDaemons(started: Started, binDir: string, log: (line: string) => void): Promise<void> {
  const { daemons, pki } = started;
  await daemons.stop(["kube-controller-manager", "kube-scheduler"]);
  const admin = pki.kubeconfigs.admin;
  try {
    await kubectlWith(binDir, admin, ["delete", "pods", "--all", "-A", "--grace-period=1", "--wait=false"]);
    const none = async (): Promise<boolean> =>
      (await kubectlWith(binDir, admin, ["get", "pods", "-A", "-o", "name"])).trim() === "";
    await daemons.wait("pods deleted by the kubelet", none, 60_000, ["kubelet"]);
  } catch (error) {
    log(`Pods were not all stopped through the kubelet (their leftovers are removed by PID): ${errorMessage(error)}`);
  }
  await daemons.stop(["kube-proxy", "kubelet", "containerd", "kube-apiserver", "etcd"]);
}

async function startAll(state: HostState, paths: ClusterPaths, options: Omit<StartSetup, "args">): Promise<Started> {
  await mkdir(paths.logs, { recursive: true });
  const daemons = new Daemons(state, paths.logs, options.binDir);
  const started = { daemons, pki: await createClusterPki(paths.pki) };
  const setup = { ...options, args: daemonArgs(paths, started.pki, await writeConfigs(paths, started.pki)) };
  try {
    await setUpHostNetwork(state.sysctls["net.ipv4.ip_forward"]);
    await startControlPlane(daemons, started.pki, setup);
    setup.log("Control plane up");
    await startNode(daemons, started.pki, setup);
    return started;
  } catch (error) {
    await stopDaemons(started, setup.binDir, setup.log).catch(() => undefined);
    await restoreHost(daemons.hostState).catch((restoreError: unknown) => {
      setup.log(`Restoring the host after a failed start failed: ${errorMessage(restoreError)}`);
    });
    throw error;
  }
}

async function removeDir(paths: ClusterPaths, owned: boolean): Promise<void> {
  if (owned) await rm(paths.dir, { recursive: true, force: true });
  else await rm(paths.data, { recursive: true, force: true });
}

/**
 * Starts a single-node cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd, kubelet,
 * kube-proxy) on this machine with the images imported, and resolves once the node is Ready. Needs root. Only one
 * cluster runs per machine: a second caller waits for the lock. See docs/adr/0019-single-node-cluster.md.
 */
export async function startNodeCluster(options: NodeClusterOptions = {}): Promise<NodeCluster> {
  const binDir = toolsBinDir();
  const images = options.images ?? defaultImages();
  const log = options.log ?? (() => undefined);
  preflight(binDir, images);
  const asked = Date.now();
  const lock = await acquireClusterLock({ log });
  const locked = Date.now();
  try {
    await cleanUpCrashedRun(log);
    await checkHostFree();
    const owned = options.dir === undefined;
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), TEMP_PREFIX)));
    const paths = clusterPaths(dir);
    const state = await snapshotHost(dir);
    await saveState(state);
    const deadline = Date.now() + (options.startTimeoutMs ?? 300_000);
    const started = await startAll(state, paths, { binDir, images, deadline, log }).catch(async (error: unknown) => {
      if (owned) await rm(dir, { recursive: true, force: true });
      throw error;
    });
    return makeCluster(started, {
      paths,
      owned,
      binDir,
      log,
      lock,
      timings: { lockWaitMs: locked - asked, readyMs: Date.now() - locked },
    });
  } catch (error) {
    lock.release();
    throw error;
  }
}

interface ClusterContext {
  readonly paths: ClusterPaths;
  readonly owned: boolean;
  readonly binDir: string;
  readonly log: (line: string) => void;
  readonly lock: ClusterLock;
  readonly timings: NodeClusterTimings;
}

function makeCluster(started: Started, ctx: ClusterContext): NodeCluster {
  const kubeconfig = started.pki.kubeconfigs.admin;
  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    try {
      await stopDaemons(started, ctx.binDir, ctx.log);
      const report = await restoreHost(started.daemons.hostState);
      ctx.log(`Restored the host: ${JSON.stringify(report)}`);
      await removeDir(ctx.paths, ctx.owned);
    } finally {
      ctx.lock.release();
    }
  };
  return {
    kubeconfig,
    nodeIP: NODE_IP,
    dir: ctx.paths.dir,
    timings: ctx.timings,
    kubectl: (args, input) => kubectlWith(ctx.binDir, kubeconfig, args, input),
    stop: () => {
      stopping ??= stop();
      return stopping;
    },
  };
}
