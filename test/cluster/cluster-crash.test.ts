/**
 * A crashed `npm run cluster` (SIGKILL: no stop, no restore) leaves its state file; `npm run cluster -- --cleanup`
 * restores the host from it: shims and pod processes killed by PID, mounts, veths, bridges, nft rules, cgroups and
 * sysctls put back, exactly as before the crashed run.
 */
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../harness/wait.js";
import { CLI_SCRIPT, killGroup, kubectl, run, startReadyCli, type Cli, type ReadyLine } from "./cli.js";
import { clusterProcesses, snapshotHost, type HostSnapshot } from "./host-snapshot.js";

const STATE_FILE = "/run/routewise-cluster.state.json";

const POD = `apiVersion: v1
kind: Pod
metadata: {name: left-behind, namespace: default}
spec:
  containers:
    - name: pause
      image: localhost/k8s-pause:1
      imagePullPolicy: Never
`;

describe("npm run cluster -- --cleanup", () => {
  let before: HostSnapshot;
  let work: string;
  let cli: Cli;
  let ready: ReadyLine;

  beforeAll(async () => {
    ({ before, work, cli, ready } = await startReadyCli("routewise-cluster-crash-"));
    await kubectl(ready.kubeconfig, ["apply", "-f", "-"], POD);
    await waitFor(
      async () =>
        (await kubectl(ready.kubeconfig, ["get", "pod", "left-behind", "-o", "jsonpath={.status.phase}"])) ===
        "Running",
      120_000,
      { intervalMs: 500, description: "the pod Running" },
    );
    // The crash: the CLI and its daemons die at once (the daemons by their parent-death signal); the shim and
    // the pod's processes, reparented to init, live on.
    await killGroup(cli, "SIGKILL");
  }, 600_000);

  afterAll(async () => {
    if (existsSync(STATE_FILE)) await run("npx", ["tsx", CLI_SCRIPT, "--cleanup"]);
    await rm(work, { recursive: true, force: true });
  }, 300_000);

  it("leaves its state file and the pod's processes behind when killed", async () => {
    expect(existsSync(STATE_FILE)).toBe(true);
    expect((await clusterProcesses(ready.dir)).length).toBeGreaterThan(0);
    expect(await snapshotHost()).not.toEqual(before);
  });

  it("restores the host from the state file with --cleanup", async () => {
    const cleanup = await run("npx", ["tsx", CLI_SCRIPT, "--cleanup"]);
    expect(cleanup.code).toBe(0);
    expect(cleanup.stdout).toContain('"cleanedUp":true');
    expect(existsSync(STATE_FILE)).toBe(false);
    expect(await clusterProcesses(ready.dir)).toEqual([]);
    expect(await snapshotHost()).toEqual(before);
  });
});
