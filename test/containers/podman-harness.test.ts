/**
 * The teardown's networking undo (test/harness/podman.ts) touches only what is Podman's: another tool on the
 * machine (containerd's CNI, kube-proxy) may add veths, rules and IP forwarding while this suite runs.
 */
import { describe, expect, it } from "vitest";
import { networkFootprint, undoNetworking, type NetworkFootprint } from "../harness/podman.js";

const quiet: NetworkFootprint = { ipv4Forward: "0", ipv6Forward: "0", links: [], iptables: { nat: [], filter: [] } };

describe("undoNetworking", () => {
  it("leaves forwarding and rules alone when they are not Podman's", async () => {
    const other: NetworkFootprint = {
      ...quiet,
      ipv4Forward: "1",
      iptables: { nat: ['-A POSTROUTING -s 10.88.0.0/16 -m comment --comment "name: \\"k8s-pod-network\\"" -j CNI-1'] },
    };
    expect(await undoNetworking(quiet, other)).toEqual([]);
  });

  it("finds no Podman bridge, rule or forwarding left by the suite's containers (host networking)", () => {
    const now = networkFootprint();
    expect(now.links).toEqual([]);
    expect(
      Object.values(now.iptables)
        .flat()
        .filter((l) => /podman/.test(l)),
    ).toEqual([]);
  });
});
