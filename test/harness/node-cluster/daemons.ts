import { realpathSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { httpsGet } from "../control-plane.js";
import { describeExit, ManagedProcess } from "../process.js";
import { HarnessError, toolPath } from "../tools.js";
import { waitFor } from "../wait.js";
import { CONTAINERD_SOCKET, ETCD_CLIENT_URL, NODE_NAME, type DaemonName } from "./constants.js";
import { run } from "./exec.js";
import type { ClusterPki } from "./pki.js";
import { saveState, type HostState } from "./state.js";

/** How long each daemon gets after SIGTERM before SIGKILL. */
const STOP_TIMEOUT_MS: Record<DaemonName, number> = {
  etcd: 10_000,
  "kube-apiserver": 15_000,
  "kube-controller-manager": 10_000,
  "kube-scheduler": 10_000,
  containerd: 15_000,
  kubelet: 15_000,
  "kube-proxy": 10_000,
};

/** The cluster's daemons: started one by one, each recorded in the state file, watched for early exits. */
export class Daemons {
  private readonly running = new Map<DaemonName, ManagedProcess>();
  private readonly ac = new AbortController();
  private stopping = false;

  constructor(
    private state: HostState,
    private readonly logDir: string,
    private readonly binDir: string,
  ) {}

  /** Aborts when a daemon exits before stop (start-up waits use it to fail fast). */
  get signal(): AbortSignal {
    return this.ac.signal;
  }

  get hostState(): HostState {
    return this.state;
  }

  async start(name: DaemonName, args: readonly string[]): Promise<ManagedProcess> {
    const binary = toolPath(name, this.binDir);
    const proc = ManagedProcess.start(name, binary, args, join(this.logDir, `${name}.log`));
    this.running.set(name, proc);
    void proc.exited.then((exit) => {
      if (this.stopping) return;
      this.ac.abort(
        new HarnessError(`${describeExit(exit)}\n--- last lines of ${proc.logPath} ---\n${proc.logTail()}`),
      );
    });
    if (proc.pid !== undefined) {
      const record = { pid: proc.pid, exe: realpathSync(binary) };
      this.state = { ...this.state, daemons: { ...this.state.daemons, [name]: record } };
      await saveState(this.state);
    }
    return proc;
  }

  /** Stops the named daemons in the given order (SIGTERM, then SIGKILL after its timeout). */
  async stop(names: readonly DaemonName[]): Promise<void> {
    this.stopping = true;
    for (const name of names) {
      await this.running.get(name)?.stop(STOP_TIMEOUT_MS[name]);
      this.running.delete(name);
    }
  }

  /** Waits for `fn`; on timeout or a daemon's exit, the error carries the last lines of the named daemons' logs. */
  async wait<T>(
    description: string,
    fn: () => Promise<T | false>,
    timeoutMs: number,
    logsOf: DaemonName[],
  ): Promise<T> {
    try {
      return await waitFor(fn, timeoutMs, { intervalMs: 250, description, signal: this.ac.signal });
    } catch (error) {
      if (this.ac.signal.aborted) throw this.ac.signal.reason;
      const tails = logsOf
        .map((name) => this.running.get(name))
        .filter((p) => p !== undefined)
        .map((p) => `--- last lines of ${p.logPath} ---\n${p.logTail()}`)
        .join("\n");
      const reason = error instanceof Error ? error.message : String(error);
      throw new HarnessError(`${reason}\n${tails}`, { cause: error });
    }
  }
}

export async function etcdHealthy(signal: AbortSignal): Promise<boolean> {
  const res = await fetch(`${ETCD_CLIENT_URL}/health`, { signal });
  const body = (await res.json()) as { health?: unknown };
  return res.ok && body.health === "true";
}

/** GET on the apiserver as admin; true on 200. */
export async function apiOk(pki: ClusterPki, path: string, signal: AbortSignal): Promise<boolean> {
  const tls = {
    ca: await readFile(pki.caCert, "utf8"),
    cert: await readFile(pki.cert("admin"), "utf8"),
    key: await readFile(pki.key("admin"), "utf8"),
  };
  return (await httpsGet(`${pki.server}${path}`, tls, signal)).status === 200;
}

export async function containerdUp(binDir: string): Promise<boolean> {
  const result = await run(toolPath("ctr", binDir), ["--address", CONTAINERD_SOCKET, "version"], {
    allowFailure: true,
    timeoutMs: 5_000,
  });
  return result.code === 0;
}

/** Imports docker-save tarballs into containerd's k8s.io namespace (unpacked for the overlayfs snapshotter). */
export async function importImages(binDir: string, images: readonly string[]): Promise<void> {
  for (const image of images) {
    await run(
      toolPath("ctr", binDir),
      ["--address", CONTAINERD_SOCKET, "-n", "k8s.io", "images", "import", "--platform", "linux/amd64", image],
      { timeoutMs: 300_000 },
    );
  }
}

/** Runs kubectl with the given kubeconfig; resolves with stdout, rejects with stderr. */
export async function kubectlWith(
  binDir: string,
  kubeconfig: string,
  args: readonly string[],
  input?: string,
): Promise<string> {
  const options = input === undefined ? { timeoutMs: 120_000 } : { input, timeoutMs: 120_000 };
  return (await run(toolPath("kubectl", binDir), ["--kubeconfig", kubeconfig, ...args], options)).stdout;
}

export async function nodeReady(binDir: string, kubeconfig: string): Promise<boolean> {
  const jsonpath = '{.status.conditions[?(@.type=="Ready")].status}';
  const out = await kubectlWith(binDir, kubeconfig, ["get", "node", NODE_NAME, "-o", `jsonpath=${jsonpath}`]);
  return out.trim() === "True";
}

export async function httpOk(url: string, signal: AbortSignal): Promise<boolean> {
  return (await fetch(url, { signal })).ok;
}
