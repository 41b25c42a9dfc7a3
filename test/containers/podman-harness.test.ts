/**
 * The teardown's network check (test/harness/podman.ts): the suite uses host networking, so Podman networking that
 * appears during a run is another process's — named for a warning, never deleted. Another tool on the machine
 * (containerd's CNI, kube-proxy) may add veths, rules and IP forwarding too; those are not even named.
 */
import { describe, expect, it } from "vitest";
import { networkChanges, networkFootprint, type NetworkFootprint } from "../harness/podman.js";

const quiet: NetworkFootprint = { ipv4Forward: "0", ipv6Forward: "0", links: [], iptables: { nat: [], filter: [] } };
const podmanRule = '-A POSTROUTING -s 10.88.0.2/32 -m comment --comment "name: \\"podman\\" id: \\"abc\\"" -j CNI-1';

describe("networkChanges", () => {
  it("names nothing when the new rules are another tool's", () => {
    const other: NetworkFootprint = {
      ...quiet,
      iptables: { nat: ['-A POSTROUTING -s 10.88.0.0/16 -m comment --comment "name: \\"k8s-pod-network\\"" -j CNI-1'] },
    };
    expect(networkChanges(quiet, other)).toEqual([]);
  });

  it("names a Podman rule, bridge and forwarding switch that appeared during the run", () => {
    const after: NetworkFootprint = {
      ...quiet,
      ipv4Forward: "1",
      links: ["cni-podman0"],
      iptables: { nat: [podmanRule], filter: [] },
    };
    expect(networkChanges(quiet, after)).toEqual([
      `iptables -t nat: ${podmanRule}`,
      "link cni-podman0",
      "/proc/sys/net/ipv4/ip_forward 0 → 1",
    ]);
  });

  it("names nothing that was there before the run", () => {
    const now = networkFootprint();
    expect(networkChanges(now, now)).toEqual([]);
  });
});
