/** The node-cluster harness's pure parts and its refusals: guard ruleset, routes, shims, mounts, state, preflight. */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { toolsBinDir } from "../tools.js";
import { isOurShim } from "./host-probe.js";
import { checkHostFree, defaultImages, preflight, socketLive } from "./index.js";
import { cidrsOverlap, guardRuleset, overlappingRoutes } from "./network.js";
import { isOurMount } from "./restore.js";
import { parseState } from "./state.js";

describe("guardRuleset", () => {
  const rules = guardRuleset();

  it("forwards a packet touching our bridges only when it enters and leaves the pod bridge", () => {
    expect(rules).toContain('iifname "rw-pods0" oifname "rw-pods0" accept');
    expect(rules).toContain('iifname { "rw-pods0", "k8s-node0" } drop');
    expect(rules).toContain('oifname { "rw-pods0", "k8s-node0" } drop');
  });

  it("leaves forwarding that does not involve our bridges alone when other software forwards", () => {
    const forward = rules.slice(rules.indexOf("chain forward"), rules.indexOf("chain input"));
    const drops = forward.split("\n").filter((line) => line.includes("drop"));
    expect(drops.every((line) => line.includes('"rw-pods0", "k8s-node0"'))).toBe(true);
    expect(rules).not.toContain("eth0");
  });

  it("keeps the machine from routing via its default-route link when IPv4 forwarding was off before", () => {
    const off = guardRuleset(["eth0"]);
    expect(off).toContain('meta nfproto ipv4 iifname { "eth0" } drop');
    expect(off).toContain('meta nfproto ipv4 oifname { "eth0" } drop');
  });

  it("drops packets for cluster addresses arriving from other links", () => {
    expect(rules).toMatch(
      /iifname != \{ "lo", "k8s-node0", "rw-pods0" \} ip daddr \{ 10\.200\.0\.0\/24, 10\.201\.0\.0\/16, 10\.96\.0\.0\/16 \} drop/,
    );
  });
});

describe("overlappingRoutes", () => {
  const ours = ["10.200.0.0/24", "10.201.0.0/16", "10.96.0.0/16"];

  it("names a route inside one of our CIDRs when another network uses it", () => {
    const routes = [{ dst: "10.201.3.0/24", dev: "br-x", flags: [] }];
    expect(overlappingRoutes(routes, ours)).toEqual(["10.201.3.0/24 dev br-x (overlaps 10.201.0.0/16)"]);
  });

  it("names a wider route covering our CIDR when one exists", () => {
    expect(overlappingRoutes([{ dst: "10.0.0.0/8", dev: "tun0" }], ours)).toHaveLength(1);
  });

  it("names a local address in our range when one is assigned", () => {
    expect(overlappingRoutes([{ type: "local", dst: "10.96.0.10", dev: "eth1" }], ours)).toHaveLength(1);
  });

  it("ignores the default route and podman's 10.88.0.0/16 when they are present", () => {
    const routes = [
      { dst: "default", gateway: "192.0.2.1", dev: "eth0" },
      { dst: "10.88.0.0/16", dev: "cni-podman0" },
      { dst: "172.17.0.0/16", dev: "docker0" },
      { dst: "192.168.122.0/24", dev: "virbr0" },
      { type: "broadcast", dst: "10.96.255.255", dev: "x" },
    ];
    expect(overlappingRoutes(routes, ours)).toEqual([]);
  });

  it("compares prefixes by their network when the address has host bits", () => {
    expect(cidrsOverlap("10.96.5.7/16", "10.96.0.0/16")).toBe(true);
    expect(cidrsOverlap("10.97.0.0/16", "10.96.0.0/16")).toBe(false);
    expect(cidrsOverlap("fd00::/8", "10.96.0.0/16")).toBe(false);
  });
});

describe("isOurShim", () => {
  const socket = "/run/routewise-containerd/containerd.sock";
  const shim = (address: string, ppid = 1): { pid: number; ppid: number; argv: string[] } => ({
    pid: 100,
    ppid,
    argv: ["/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io", "-id", "abc", "-address", address],
  });

  it("takes a shim whose -address is our socket", () => {
    expect(isOurShim(shim(socket), socket, undefined)).toBe(true);
  });

  it("leaves Docker's shim alone when it runs the same executable", () => {
    expect(isOurShim(shim("/run/containerd/containerd.sock"), socket, undefined)).toBe(false);
  });

  it("takes a child of our containerd when its argv does not name the socket", () => {
    expect(isOurShim({ pid: 5, ppid: 42, argv: ["/usr/bin/containerd-shim-runc-v2", "start"] }, socket, 42)).toBe(true);
  });
});

describe("isOurMount", () => {
  it("takes a new mount under our containerd state or kubelet root", () => {
    expect(isOurMount("/run/routewise-containerd/io.containerd.grpc.v1.cri/netns/cni-1", new Set())).toBe(true);
    expect(isOurMount("/var/lib/routewise-kubelet/pods/x/volumes/y", new Set())).toBe(true);
  });

  it("leaves the system containerd's, kubelet's and /run/netns mounts alone", () => {
    for (const path of ["/run/containerd/io.containerd.runtime.v2.task/k8s.io/x/rootfs", "/var/lib/kubelet/pods/x"]) {
      expect(isOurMount(path, new Set())).toBe(false);
    }
    expect(isOurMount("/run/netns/cni-1234", new Set())).toBe(false);
    expect(isOurMount("/var/lib/routewise-containerd-other/x", new Set())).toBe(false);
  });

  it("leaves a mount alone when it was there before", () => {
    expect(isOurMount("/var/lib/routewise-kubelet", new Set(["/var/lib/routewise-kubelet"]))).toBe(false);
  });
});

describe("socketLive", () => {
  it("is true when something listens on the socket and false once it stopped", async () => {
    const dir = await mkdtemp(join(tmpdir(), "hostsafe-sock-"));
    const path = join(dir, "containerd.sock");
    const server = createServer((conn) => conn.destroy());
    try {
      await new Promise<void>((resolve) => server.listen(path, resolve));
      expect(await socketLive(path)).toBe(true);
      await expect(checkHostFree(path)).rejects.toThrow(/containerd this harness did not start is listening/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await socketLive(path)).toBe(false);
    await rm(dir, { recursive: true, force: true });
  });
});

describe("parseState", () => {
  const state = {
    version: 2 as const,
    ownerPid: 42,
    dir: "/tmp/routewise-cluster-x",
    startedAt: "2026-12-01T00:00:00.000Z",
    sysctls: { "kernel.panic": "1" },
    links: ["eth0", "lo"],
    mounts: ["/"],
    existingPaths: [],
    nft: {
      tables: [{ family: "ip", name: "filter", handle: 3 }],
      chains: [{ family: "ip", table: "filter", name: "DOCKER" }],
      rules: [{ family: "ip", table: "filter", chain: "DOCKER", handle: 9 }],
      named: [{ kind: "set" as const, family: "inet", table: "fw", name: "allowed" }],
    },
    cgroups: [],
    daemons: { etcd: { pid: 7, exe: "/usr/bin/etcd" } },
  };

  it("rejects a file that is not a cluster state file", () => {
    expect(() => parseState({ version: 2, links: "eth0" })).toThrow(/not a cluster state file/);
  });

  it("rejects a state file of the earlier format when one is left from an older run", () => {
    expect(() => parseState({ ...state, version: 1 })).toThrow(/not a cluster state file/);
  });

  it("rejects a state file whose nft record lacks a rule handle", () => {
    const nft = { ...state.nft, rules: [{ family: "ip", table: "filter", chain: "DOCKER" }] };
    expect(() => parseState({ ...state, nft })).toThrow(/not a cluster state file/);
  });

  it("reads back what the harness writes", () => {
    expect(parseState(JSON.parse(JSON.stringify(state)))).toEqual(state);
  });
});

describe("preflight", () => {
  it("names the missing tool and how to install it", () => {
    expect(() => preflight("/nonexistent-tools", [])).toThrow(
      /not found at \/nonexistent-tools\/.*npm run setup:tools/,
    );
  });

  it("names a missing image tarball and how to build it", () => {
    expect(() => preflight(toolsBinDir(), ["/nonexistent/pause.tar"])).toThrow(
      /\/nonexistent\/pause\.tar.*npm run image/,
    );
  });

  it("takes the image list from ROUTEWISE_CLUSTER_IMAGES when set", () => {
    const saved = process.env["ROUTEWISE_CLUSTER_IMAGES"];
    process.env["ROUTEWISE_CLUSTER_IMAGES"] = "/a/pause.tar,/b/routewise.tar";
    try {
      expect(defaultImages()).toEqual(["/a/pause.tar", "/b/routewise.tar"]);
    } finally {
      if (saved === undefined) delete process.env["ROUTEWISE_CLUSTER_IMAGES"];
      else process.env["ROUTEWISE_CLUSTER_IMAGES"] = saved;
    }
  });
});
