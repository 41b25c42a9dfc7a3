/** The node-cluster harness's pure parts and its refusals: the guard ruleset, the state file, preflight. */
import { describe, expect, it } from "vitest";
import { defaultImages, preflight } from "../harness/node-cluster/index.js";
import { guardRuleset } from "../harness/node-cluster/network.js";
import { parseState } from "../harness/node-cluster/state.js";
import { toolsBinDir } from "../harness/tools.js";

describe("guardRuleset", () => {
  const rules = guardRuleset(["eth0"]);

  it("forwards only within cni0 when a packet touches cni0", () => {
    expect(rules).toContain('iifname "cni0" oifname "cni0" accept');
    expect(rules).toContain('iifname "cni0" drop');
    expect(rules).toContain('oifname "cni0" drop');
  });

  it("drops every forwarded packet to or from an external link", () => {
    expect(rules).toContain('iifname { "eth0" } drop');
    expect(rules).toContain('oifname { "eth0" } drop');
  });

  it("drops packets for cluster addresses arriving from other links", () => {
    expect(rules).toMatch(
      /iifname != \{ "lo", "k8s-node0", "cni0" \} ip daddr \{ 10\.200\.0\.0\/24, 10\.88\.0\.0\/16, 10\.96\.0\.0\/16 \} drop/,
    );
  });
});

describe("parseState", () => {
  it("rejects a file that is not a cluster state file", () => {
    expect(() => parseState({ version: 1, links: "eth0" })).toThrow(/not a cluster state file/);
  });

  it("reads back what the harness writes", () => {
    const state = {
      version: 1 as const,
      ownerPid: 42,
      dir: "/tmp/routewise-cluster-x",
      startedAt: "2026-12-01T00:00:00.000Z",
      sysctls: { "kernel.panic": "1" },
      links: ["eth0", "lo"],
      mounts: ["/"],
      existingPaths: [],
      nftTables: [],
      cgroups: [],
      daemons: { etcd: { pid: 7, exe: "/usr/bin/etcd" } },
    };
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
