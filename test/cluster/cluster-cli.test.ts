/**
 * `npm run cluster` end to end: the real CLI starts the single-node cluster, the node is Ready in the API server,
 * pods really run from the locally built images, and SIGTERM stops everything and leaves the host exactly as it
 * was (links, routes, netns, nft and iptables rules, mounts, kubepods cgroups, sysctls, processes).
 */
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run as exec } from "../harness/node-cluster/exec.js";
import { waitFor } from "../harness/wait.js";
import { cliProcesses, killGroup, kubectl, run, startReadyCli, terminate, type Cli, type ReadyLine } from "./cli.js";
import { clusterProcesses, snapshotHost, type HostSnapshot } from "./host-snapshot.js";

const POD = `apiVersion: v1
kind: Pod
metadata: {name: pause, namespace: default}
spec:
  containers:
    - name: pause
      image: localhost/k8s-pause:1
      imagePullPolicy: Never
`;

function versionJob(image: string): string {
  return `apiVersion: batch/v1
kind: Job
metadata: {name: routewise-version, namespace: default}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: routewise
          image: ${image}
          imagePullPolicy: Never
          args: ["--version"]
`;
}

/**
 * Other software's objects that look like ours (another cluster's KUBE-* chain, portmap's CNI-DN-* chain, a
 * `cni-*` network namespace of podman's): made before the run, they must survive it untouched.
 */
const DECOY_NFT = `table ip filter {
  chain KUBE-ROUTEWISE-DECOY {
    counter
  }
  chain CNI-DN-ROUTEWISE-DECOY {
  }
}
`;
const DECOY_NETNS = "cni-routewise-decoy";

async function addDecoys(): Promise<boolean> {
  const hadFilter = (await run("nft", ["list", "table", "ip", "filter"])).code === 0;
  await exec("nft", ["-f", "-"], { input: DECOY_NFT });
  await run("ip", ["netns", "add", DECOY_NETNS]);
  return hadFilter;
}

async function removeDecoys(hadFilter: boolean): Promise<void> {
  await run("ip", ["netns", "delete", DECOY_NETNS]);
  if (!hadFilter) await run("nft", ["delete", "table", "ip", "filter"]);
  else
    for (const chain of ["KUBE-ROUTEWISE-DECOY", "CNI-DN-ROUTEWISE-DECOY"]) {
      await run("nft", ["delete", "chain", "ip", "filter", chain]);
    }
}

describe("npm run cluster", () => {
  let before: HostSnapshot;
  let work: string;
  let cli: Cli;
  let ready: ReadyLine;
  let hadFilter = true;

  beforeAll(async () => {
    hadFilter = await addDecoys();
    ({ before, work, cli, ready } = await startReadyCli("routewise-cluster-test-"));
  }, 600_000);

  afterAll(async () => {
    // Only when a test failed before the last one: stop the whole group and wait for the CLI to restore the host.
    await killGroup(cli, "SIGTERM");
    await removeDecoys(hadFilter);
    await rm(work, { recursive: true, force: true });
  }, 300_000);

  it("writes the admin kubeconfig once the node is Ready in the API server", async () => {
    expect(existsSync(ready.kubeconfig)).toBe(true);
    const jsonpath = '{.status.conditions[?(@.type=="Ready")].status} {.status.addresses[0].address}';
    const out = await kubectl(ready.kubeconfig, ["get", "node", "k8s-node", "-o", `jsonpath=${jsonpath}`]);
    expect(out.trim()).toBe(`True ${ready.nodeIP}`);
  });

  it("runs a pod from the pause image", async () => {
    await kubectl(ready.kubeconfig, ["apply", "-f", "-"], POD);
    const status = await waitFor(
      async () => {
        const path = "{.status.phase} {.status.containerStatuses[0].ready} {.status.podIP}";
        const out = await kubectl(ready.kubeconfig, ["get", "pod", "pause", "-o", `jsonpath=${path}`]);
        return out.startsWith("Running true ") ? out : undefined;
      },
      120_000,
      { intervalMs: 500, description: "the pause pod Running and ready" },
    );
    expect(status).toMatch(/^Running true 10\.201\./);
  });

  it("runs `routewise --version` as a Job from the routewise image it imported", async () => {
    const images = await kubectl(ready.kubeconfig, [
      "get",
      "node",
      "k8s-node",
      "-o",
      "jsonpath={.status.images[*].names[*]}",
    ]);
    const image = images.split(" ").find((name) => name.startsWith("localhost/routewise:"));
    // Not imported (a wrong ROUTEWISE_CLUSTER_IMAGES, no `npm run image`): a failure, never a silent skip.
    if (image === undefined) throw new Error(`no localhost/routewise:* image on the node (it has: ${images})`);
    await kubectl(ready.kubeconfig, ["apply", "-f", "-"], versionJob(image));
    await waitFor(
      async () => {
        const out = await kubectl(ready.kubeconfig, [
          "get",
          "job",
          "routewise-version",
          "-o",
          "jsonpath={.status.succeeded}",
        ]);
        return out.trim() === "1";
      },
      180_000,
      { intervalMs: 1_000, description: "the routewise --version Job to succeed" },
    );
    const logs = await kubectl(ready.kubeconfig, ["logs", "job/routewise-version"]);
    expect(logs).toMatch(/\d+\.\d+\.\d+/);
  });

  it("holds the machine-wide cluster lock while it runs", async () => {
    const probe = await run("flock", ["--nonblock", "/run/routewise-cluster.lock", "true"]);
    expect(probe.code).toBe(1);
    const owner = Number((await readFile("/run/routewise-cluster.lock", "utf8")).trim());
    const procs = cli.child.pid === undefined ? [] : await cliProcesses(cli.child.pid);
    expect(procs.map(([pid]) => pid)).toContain(owner);
  });

  it("listens only on loopback and the node IP, and guards forwarding with its nft table", async () => {
    const sockets = await run("ss", ["-H", "-l", "-t", "-u", "-n", "-p"]);
    const ours = sockets.stdout
      .split("\n")
      .filter((line) => /"(kubelet|kube-proxy|kube-scheduler|containerd)"/.test(line) || line.includes(ready.dir));
    const addresses = ours.map((line) => (line.trim().split(/\s+/)[4] ?? "").replace(/:\d+$/, ""));
    expect(addresses.length).toBeGreaterThan(0);
    expect(addresses.filter((address) => address !== "127.0.0.1" && address !== ready.nodeIP)).toEqual([]);
    const guard = await run("nft", ["list", "table", "inet", "k8s_node_guard"]);
    expect(guard.stdout).toMatch(/hook forward/);
    expect(guard.stdout).toMatch(/oifname \{ [^}]*"rw-pods0"[^}]*\} drop/);
  });

  it("stops on SIGTERM, exits 0 and leaves the host as it was", async () => {
    terminate(ready);
    expect(await cli.exited).toBe(0);
    expect(cli.stdout.some((line) => line.includes('"stopped":true'))).toBe(true);
    expect(existsSync(ready.kubeconfig)).toBe(false);
    expect(existsSync(ready.dir)).toBe(false);
    expect(await clusterProcesses(ready.dir)).toEqual([]);
    expect(await snapshotHost()).toEqual(before);
    expect((await run("nft", ["list", "chain", "ip", "filter", "KUBE-ROUTEWISE-DECOY"])).code).toBe(0);
    expect((await run("ip", ["netns", "list"])).stdout).toContain(DECOY_NETNS);
  });
});
