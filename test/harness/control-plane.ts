import { existsSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { createPki, type ControlPlanePki } from "./pki.js";
import { cleanupOnExit, describeExit, ManagedProcess, type ChildExit } from "./process.js";
import { freePorts } from "./ports.js";
import { HarnessError, toolPath, toolsBinDir } from "./tools.js";
import { waitFor } from "./wait.js";

/** Options for {@link startControlPlane}. */
export interface ControlPlaneOptions {
  /** Directory holding etcd, kube-apiserver and kube-controller-manager (default: .tools/bin or $ROUTEWISE_TOOLS_BIN). */
  readonly binDir?: string;
  /** How long etcd, kube-apiserver and kube-controller-manager together may take to become ready (default 60 s). */
  readonly startTimeoutMs?: number;
  /** How long each process gets after SIGTERM before SIGKILL (default 10 s). */
  readonly stopTimeoutMs?: number;
  /** Extra kube-apiserver flags, appended after the defaults (a later flag wins). */
  readonly apiServerArgs?: readonly string[];
  /** Keep the temp dir (logs, PKI, etcd data) after stop(), for debugging. Kept dirs are never swept. */
  readonly keepTempDir?: boolean;
}

/** A running etcd + kube-apiserver + kube-controller-manager (garbage collector, namespaces) on 127.0.0.1. */
export interface ControlPlane {
  /** e.g. https://127.0.0.1:41234 */
  readonly server: string;
  /** Admin (system:masters client cert) kubeconfig written in the temp dir. */
  readonly kubeconfigPath: string;
  readonly kubeconfigYaml: string;
  /** CA that signed the serving cert. */
  readonly caCertPem: string;
  /** Holds logs (etcd.log, kube-apiserver.log, kube-controller-manager.log), PKI and etcd data; removed by stop(). */
  readonly tempDir: string;
  /** Milliseconds from the call to startControlPlane until the API answered and the controllers ran. */
  readonly startupMs: number;
  /** The part of startupMs from starting kube-controller-manager until its controllers were running. */
  readonly controllerManagerStartupMs: number;
  /** Resolves if etcd, kube-apiserver or kube-controller-manager exits before stop() is called. */
  readonly exited: Promise<ChildExit>;
  /** A fresh KubeConfig for the admin user. */
  kubeConfig(): KubeConfig;
  /** Kubeconfig YAML for the same cluster authenticating with a bearer token. */
  kubeconfigForToken(token: string): string;
  /** Stops kube-controller-manager, kube-apiserver, then etcd, and removes the temp dir. Safe to call twice. */
  stop(): Promise<void>;
}

const CLUSTER = "routewise-test";
const TEMP_PREFIX = "routewise-control-plane-";
const OWNER_FILE = "owner.pid";
const MAX_ATTEMPTS = 3;

/**
 * The only controllers kube-controller-manager runs (canonical names, which are also its /healthz check names):
 * ownerReferences cascade, and deleted namespaces are emptied and go away. Nothing else: there is no kubelet or
 * scheduler, so workload controllers would only make Pods that never run, and the serviceaccount and
 * root-ca-certificate-publisher controllers would add a `default` ServiceAccount and a `kube-root-ca.crt`
 * ConfigMap to every test namespace. Each one more is also more watches and CPU on a small shared machine.
 */
const CONTROLLERS = ["garbage-collector-controller", "namespace-controller"] as const;

interface Ports {
  readonly etcdClient: number;
  readonly etcdPeer: number;
  readonly apiServer: number;
  readonly controllerManager: number;
}

interface Settings {
  readonly binDir: string;
  readonly startTimeoutMs: number;
  readonly stopTimeoutMs: number;
  readonly apiServerArgs: readonly string[];
}

interface RunningPlane {
  readonly etcd: ManagedProcess;
  readonly apiServer: ManagedProcess;
  readonly controllerManager: ManagedProcess;
  readonly server: string;
  readonly controllerManagerStartupMs: number;
}

async function pickPorts(): Promise<Ports> {
  const [etcdClient, etcdPeer, apiServer, controllerManager] = await freePorts(4);
  return { etcdClient, etcdPeer, apiServer, controllerManager };
}

function etcdArgs(dataDir: string, ports: Ports): string[] {
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return [
    "--name=routewise-test",
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=routewise-test=${peer}`,
    "--unsafe-no-fsync=true",
    "--logger=zap",
    "--log-level=warn",
  ];
}

function apiServerArgs(dir: string, pki: ControlPlanePki, ports: Ports, extra: readonly string[]): string[] {
  const server = `https://127.0.0.1:${ports.apiServer}`;
  return [
    `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--secure-port=${ports.apiServer}`,
    `--cert-dir=${dir}`,
    `--tls-cert-file=${pki.servingCertPath}`,
    `--tls-private-key-file=${pki.servingKeyPath}`,
    `--client-ca-file=${pki.clientCaCertPath}`,
    "--authorization-mode=RBAC",
    `--service-account-issuer=${server}/`,
    `--service-account-key-file=${pki.serviceAccountPublicKeyPath}`,
    `--service-account-signing-key-file=${pki.serviceAccountPrivateKeyPath}`,
    "--service-cluster-ip-range=10.0.0.0/24",
    "--disable-admission-plugins=ServiceAccount",
    "--allow-privileged=true",
    // Loopback addresses are invalid in Endpoints; there is no kubelet to reach anyway.
    "--endpoint-reconciler-type=none",
    "--profiling=false",
    ...extra,
  ];
}

function controllerManagerArgs(pki: ControlPlanePki, ports: Ports, kubeconfigPath: string): string[] {
  return [
    `--kubeconfig=${kubeconfigPath}`,
    `--controllers=${CONTROLLERS.join(",")}`,
    "--leader-elect=false",
    "--use-service-account-credentials=false",
    "--bind-address=127.0.0.1",
    `--secure-port=${ports.controllerManager}`,
    // The apiserver's serving cert (127.0.0.1, our CA): no self-signed key to generate; the health probe verifies it.
    `--tls-cert-file=${pki.servingCertPath}`,
    `--tls-private-key-file=${pki.servingKeyPath}`,
    // Delegated authn/authz of its own endpoints through the same kubeconfig, never an in-cluster config that an
    // enclosing pod's environment might suggest; /healthz is always allowed, so the probe needs no credentials.
    `--authentication-kubeconfig=${kubeconfigPath}`,
    "--authentication-skip-lookup=true",
    `--authorization-kubeconfig=${kubeconfigPath}`,
    "--profiling=false",
  ];
}

export interface TlsClient {
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
}

export interface HttpsResponse {
  readonly status: number;
  readonly body: string;
}

/** GET over TLS (client cert optional); resolves with status and body (never rejects on HTTP errors). */
export function httpsGet(url: string, tls: TlsClient, signal: AbortSignal): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...tls, method: "GET", signal, timeout: 5_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.once("end", () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
      });
    });
    req.once("timeout", () => req.destroy(new HarnessError(`GET ${url} timed out`)));
    req.once("error", reject);
    req.end();
  });
}

async function etcdHealthy(url: string, signal: AbortSignal): Promise<boolean> {
  const res = await fetch(`${url}/health`, { signal });
  const body = (await res.json()) as { health?: unknown };
  return res.ok && body.health === "true";
}

/** An AbortSignal that fires when either process exits during start-up. */
function abortOnExit(processes: readonly ManagedProcess[]): AbortController {
  const ac = new AbortController();
  for (const p of processes) {
    void p.exited.then((exit) => {
      ac.abort(new HarnessError(`${describeExit(exit)} during start-up`));
    });
  }
  return ac;
}

function startupError(message: string, processes: readonly ManagedProcess[], cause: unknown): HarnessError {
  const tails = processes.map((p) => `--- last lines of ${p.logPath} ---\n${p.logTail()}`).join("\n");
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new HarnessError(`${message}: ${reason}\n${tails}`, { cause });
}

/** Stops the processes one after the other, in the order given (dependents first). */
async function stopAll(processes: readonly ManagedProcess[], timeoutMs: number): Promise<void> {
  for (const p of processes) await p.stop(timeoutMs);
}

async function startEtcd(dir: string, ports: Ports, settings: Settings, deadline: number): Promise<ManagedProcess> {
  const etcd = ManagedProcess.start(
    "etcd",
    toolPath("etcd", settings.binDir),
    etcdArgs(join(dir, "etcd-data"), ports),
    join(dir, "etcd.log"),
  );
  const ac = abortOnExit([etcd]);
  try {
    const url = `http://127.0.0.1:${ports.etcdClient}`;
    await waitFor(() => etcdHealthy(url, ac.signal), deadline - Date.now(), {
      intervalMs: 100,
      description: `etcd at ${url}/health`,
      signal: ac.signal,
    });
    return etcd;
  } catch (error) {
    await etcd.stop(settings.stopTimeoutMs);
    throw startupError("etcd did not become healthy", [etcd], error);
  }
}

async function waitApiServer(server: string, tls: TlsClient, signal: AbortSignal, deadline: number): Promise<void> {
  const ok = async (path: string): Promise<boolean> => (await httpsGet(server + path, tls, signal)).status === 200;
  await waitFor(() => ok("/readyz"), deadline - Date.now(), {
    intervalMs: 250,
    description: `${server}/readyz`,
    signal,
  });
  await waitFor(() => ok("/api/v1/namespaces/default"), deadline - Date.now(), {
    intervalMs: 100,
    description: `${server}/api/v1/namespaces/default`,
    signal,
  });
}

/** One start attempt: its directory, PKI, ports, settings and deadline. */
interface Attempt {
  readonly dir: string;
  readonly pki: ControlPlanePki;
  readonly ports: Ports;
  readonly settings: Settings;
  readonly deadline: number;
}

async function startApiServer(
  attempt: Attempt,
): Promise<{ readonly etcd: ManagedProcess; readonly apiServer: ManagedProcess; readonly server: string }> {
  const { dir, pki, ports, settings, deadline } = attempt;
  const etcd = await startEtcd(dir, ports, settings, deadline);
  const apiServer = ManagedProcess.start(
    "kube-apiserver",
    toolPath("kube-apiserver", settings.binDir),
    apiServerArgs(dir, pki, ports, settings.apiServerArgs),
    join(dir, "kube-apiserver.log"),
  );
  const server = `https://127.0.0.1:${ports.apiServer}`;
  const ac = abortOnExit([etcd, apiServer]);
  try {
    await waitApiServer(
      server,
      { ca: pki.caCertPem, cert: pki.adminCertPem, key: pki.adminKeyPem },
      ac.signal,
      deadline,
    );
    return { etcd, apiServer, server };
  } catch (error) {
    await stopAll([apiServer, etcd], settings.stopTimeoutMs);
    throw startupError(`kube-apiserver at ${server} did not become ready`, [apiServer, etcd], error);
  }
}

/** True once /healthz is ok and lists a check for every controller (they are registered once built and started). */
async function controllersRunning(url: string, caCertPem: string, signal: AbortSignal): Promise<boolean> {
  const res = await httpsGet(`${url}/healthz?verbose`, { ca: caCertPem }, signal);
  return res.status === 200 && CONTROLLERS.every((name) => res.body.includes(`[+]${name} ok`));
}

/** Starts kube-controller-manager against a running apiserver; returns it once its controllers are running. */
async function startControllerManager(
  attempt: Attempt,
  upstream: { readonly server: string; readonly processes: readonly ManagedProcess[] },
): Promise<ManagedProcess> {
  const { dir, pki, ports, settings, deadline } = attempt;
  const kubeconfigPath = join(dir, "kube-controller-manager.kubeconfig");
  const yaml = kubeconfigYaml(upstream.server, pki.caCertPem, "system:kube-controller-manager", {
    "client-certificate-data": base64(pki.controllerManagerCertPem),
    "client-key-data": base64(pki.controllerManagerKeyPem),
  });
  await writeFile(kubeconfigPath, yaml, { mode: 0o600 });
  const controllerManager = ManagedProcess.start(
    "kube-controller-manager",
    toolPath("kube-controller-manager", settings.binDir),
    controllerManagerArgs(pki, ports, kubeconfigPath),
    join(dir, "kube-controller-manager.log"),
  );
  const url = `https://127.0.0.1:${ports.controllerManager}`;
  const ac = abortOnExit([controllerManager, ...upstream.processes]);
  try {
    await waitFor(() => controllersRunning(url, pki.caCertPem, ac.signal), deadline - Date.now(), {
      intervalMs: 100,
      description: `${url}/healthz listing ${CONTROLLERS.join(", ")}`,
      signal: ac.signal,
    });
    return controllerManager;
  } catch (error) {
    await controllerManager.stop(settings.stopTimeoutMs);
    throw startupError(
      `kube-controller-manager at ${url} did not start its controllers`,
      [controllerManager, ...upstream.processes],
      error,
    );
  }
}

async function startPlane(
  dir: string,
  pki: ControlPlanePki,
  settings: Settings,
  deadline: number,
): Promise<RunningPlane> {
  await mkdir(dir, { recursive: true });
  const attempt: Attempt = { dir, pki, ports: await pickPorts(), settings, deadline };
  const { etcd, apiServer, server } = await startApiServer(attempt);
  const started = Date.now();
  try {
    const controllerManager = await startControllerManager(attempt, { server, processes: [apiServer, etcd] });
    return { etcd, apiServer, controllerManager, server, controllerManagerStartupMs: Date.now() - started };
  } catch (error) {
    await stopAll([apiServer, etcd], settings.stopTimeoutMs);
    throw error;
  }
}

function isPortClash(error: unknown): boolean {
  return error instanceof Error && /address already in use/i.test(error.message);
}

/** Starts the processes, retrying with new ports when another process grabbed one in between. */
async function startWithRetries(tempDir: string, pki: ControlPlanePki, settings: Settings): Promise<RunningPlane> {
  const deadline = Date.now() + settings.startTimeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startPlane(join(tempDir, `run-${attempt}`), pki, settings, deadline);
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS || !isPortClash(error)) throw error;
    }
  }
}

function base64(text: string): string {
  return Buffer.from(text).toString("base64");
}

function kubeconfigYaml(server: string, caCertPem: string, userName: string, user: Record<string, string>): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: CLUSTER, cluster: { server, "certificate-authority-data": base64(caCertPem) } }],
    users: [{ name: userName, user }],
    contexts: [{ name: CLUSTER, context: { cluster: CLUSTER, user: userName, namespace: "default" } }],
    "current-context": CLUSTER,
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error instanceof Error && "code" in error && error.code === "EPERM";
  }
}

async function ownerOf(dir: string): Promise<number | undefined> {
  const file = join(dir, OWNER_FILE);
  if (!existsSync(file)) return undefined;
  const pid = Number((await readFile(file, "utf8")).trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Removes temp dirs left behind by control planes whose process died (e.g. SIGKILLed test runs). */
async function removeStaleTempDirs(): Promise<void> {
  const base = tmpdir();
  const dirs = (await readdir(base)).filter((name) => name.startsWith(TEMP_PREFIX)).map((name) => join(base, name));
  for (const dir of dirs) {
    const owner = await ownerOf(dir).catch(() => undefined); // vanished or not ours to read: leave it
    if (owner !== undefined && !isAlive(owner)) await rm(dir, { recursive: true, force: true });
  }
}

/** A fresh temp dir, removed on process exit unless kept; returns the dir and a way to cancel that. */
async function createTempDir(keep: boolean): Promise<{ readonly dir: string; readonly forget: () => void }> {
  await removeStaleTempDirs();
  const dir = await mkdtemp(join(tmpdir(), TEMP_PREFIX));
  if (keep) return { dir, forget: () => undefined };
  await writeFile(join(dir, OWNER_FILE), `${process.pid}\n`);
  const forget = cleanupOnExit(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, forget };
}

function settingsFrom(options: ControlPlaneOptions): Settings {
  return {
    binDir: options.binDir ?? toolsBinDir(),
    startTimeoutMs: options.startTimeoutMs ?? 60_000,
    stopTimeoutMs: options.stopTimeoutMs ?? 10_000,
    apiServerArgs: options.apiServerArgs ?? [],
  };
}

function makeControlPlane(
  plane: RunningPlane,
  pki: ControlPlanePki,
  files: { readonly tempDir: string; readonly kubeconfigPath: string; readonly kubeconfigYaml: string },
  options: ControlPlaneOptions & { readonly startupMs: number; readonly stopTimeoutMs: number; forget(): void },
): ControlPlane {
  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    await stopAll([plane.controllerManager, plane.apiServer, plane.etcd], options.stopTimeoutMs);
    if (options.keepTempDir !== true) await rm(files.tempDir, { recursive: true, force: true });
    options.forget();
  };
  let stopped = false;
  const exited = Promise.race([plane.etcd.exited, plane.apiServer.exited, plane.controllerManager.exited]).then(
    (exit) => (stopped ? new Promise<ChildExit>(() => undefined) : exit),
  );
  return {
    server: plane.server,
    ...files,
    caCertPem: pki.caCertPem,
    startupMs: options.startupMs,
    controllerManagerStartupMs: plane.controllerManagerStartupMs,
    exited,
    kubeConfig: () => {
      const kc = new KubeConfig();
      kc.loadFromString(files.kubeconfigYaml);
      return kc;
    },
    kubeconfigForToken: (token) => kubeconfigYaml(plane.server, pki.caCertPem, "token-user", { token }),
    stop: () => {
      stopped = true;
      stopping ??= stop();
      return stopping;
    },
  };
}

/**
 * Starts etcd, kube-apiserver and kube-controller-manager from the tools dir on free 127.0.0.1 ports, with a
 * throwaway PKI, RBAC, and service-account signing keys (TokenRequest works). Resolves once GET
 * /api/v1/namespaces/default succeeds with the admin client cert (O=system:masters) and kube-controller-manager
 * reports its controllers running. It runs only the garbage collector (ownerReferences cascade) and the namespace
 * controller (deleted namespaces go away); there is no scheduler or kubelet: Deployments never get Pods.
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const started = Date.now();
  const settings = settingsFrom(options);
  // Fail before starting anything when a binary is missing (e.g. built by an older setup-tools).
  for (const tool of ["etcd", "kube-apiserver", "kube-controller-manager"]) toolPath(tool, settings.binDir);
  const { dir: tempDir, forget } = await createTempDir(options.keepTempDir === true);
  try {
    const pki = await createPki(join(tempDir, "pki"));
    const plane = await startWithRetries(tempDir, pki, settings);
    const yaml = kubeconfigYaml(plane.server, pki.caCertPem, "admin", {
      "client-certificate-data": base64(pki.adminCertPem),
      "client-key-data": base64(pki.adminKeyPem),
    });
    const kubeconfigPath = join(tempDir, "admin.kubeconfig");
    await writeFile(kubeconfigPath, yaml, { mode: 0o600 });
    return makeControlPlane(
      plane,
      pki,
      { tempDir, kubeconfigPath, kubeconfigYaml: yaml },
      { ...options, startupMs: Date.now() - started, stopTimeoutMs: settings.stopTimeoutMs, forget },
    );
  } catch (error) {
    if (options.keepTempDir !== true) await rm(tempDir, { recursive: true, force: true });
    forget();
    throw error;
  }
}
