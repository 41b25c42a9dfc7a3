import { describe, expect, it } from "vitest";
import type { NftObject } from "./host-probe.js";
import { nftDeleteArgs, nftSnapshot, planNftRestore, type NftSnapshot } from "./nft-plan.js";

const table = (family: string, name: string, handle: number): NftObject => ({
  kind: "table",
  fields: { family, name, handle },
});
const chain = (family: string, t: string, name: string, extra: Record<string, unknown> = {}): NftObject => ({
  kind: "chain",
  fields: { family, table: t, name, handle: 1, ...extra },
});
const rule = (family: string, t: string, c: string, handle: number): NftObject => ({
  kind: "rule",
  fields: { family, table: t, chain: c, handle, expr: [] },
});

/** A host with Docker's iptables-nft tables, including a KUBE- chain of another cluster (k3s). */
const HOST: NftObject[] = [
  table("ip", "filter", 1),
  chain("ip", "filter", "FORWARD", { hook: "forward", policy: "drop" }),
  chain("ip", "filter", "DOCKER"),
  chain("ip", "filter", "KUBE-FORWARD"),
  rule("ip", "filter", "FORWARD", 10),
  rule("ip", "filter", "KUBE-FORWARD", 11),
  table("ip", "nat", 2),
  chain("ip", "nat", "CNI-HOSTPORT-DNAT"),
  { kind: "set", fields: { family: "ip", table: "filter", name: "docker-set", type: "ipv4_addr" } },
];

const snap = (objects: NftObject[]): NftSnapshot => nftSnapshot(objects);

describe("planNftRestore", () => {
  it("deletes nothing when the ruleset is as it was", () => {
    expect(planNftRestore(snap(HOST), snap(HOST))).toEqual([]);
  });

  it("keeps another program's KUBE-*, CNI-HOSTPORT-* chains and rules when they were there before", () => {
    const plan = planNftRestore(snap(HOST), snap([...HOST, rule("ip", "filter", "KUBE-FORWARD", 30)]));
    expect(plan).toEqual([{ kind: "rule", family: "ip", table: "filter", chain: "KUBE-FORWARD", handle: 30 }]);
  });

  it("deletes a new rule and a new chain in a table that stays, rules before chains", () => {
    const now = [...HOST, chain("ip", "filter", "KUBE-KUBELET-CANARY"), rule("ip", "filter", "FORWARD", 31)];
    now.push(rule("ip", "filter", "KUBE-KUBELET-CANARY", 32));
    expect(planNftRestore(snap(HOST), snap(now)).map(nftDeleteArgs)).toEqual([
      ["delete", "rule", "ip", "filter", "FORWARD", "handle", "31"],
      ["delete", "rule", "ip", "filter", "KUBE-KUBELET-CANARY", "handle", "32"],
      ["delete", "chain", "ip", "filter", "KUBE-KUBELET-CANARY"],
    ]);
  });

  it("deletes a new table whole, not its contents one by one", () => {
    const now = [...HOST, table("inet", "k8s_node_guard", 40), chain("inet", "k8s_node_guard", "forward")];
    now.push(rule("inet", "k8s_node_guard", "forward", 2), table("ip", "kube-proxy", 41));
    expect(planNftRestore(snap(HOST), snap(now)).map(nftDeleteArgs)).toEqual([
      ["delete", "table", "inet", "k8s_node_guard"],
      ["delete", "table", "ip", "kube-proxy"],
    ]);
  });

  it("deletes a new named set in a table that stays, after the rules", () => {
    const now = [...HOST, rule("ip", "filter", "FORWARD", 50)];
    now.push({ kind: "set", fields: { family: "ip", table: "filter", name: "ours" } });
    expect(planNftRestore(snap(HOST), snap(now)).map(nftDeleteArgs)).toEqual([
      ["delete", "rule", "ip", "filter", "FORWARD", "handle", "50"],
      ["delete", "set", "ip", "filter", "ours"],
    ]);
  });

  it("leaves a table alone when it was deleted and made again by someone else meanwhile", () => {
    const now = HOST.map((o) => (o.kind === "table" && o.fields["name"] === "filter" ? table("ip", "filter", 9) : o));
    now.push(rule("ip", "filter", "FORWARD", 99));
    expect(planNftRestore(snap(HOST), snap(now))).toEqual([]);
  });

  it("does nothing about an object that is gone when someone else removed it", () => {
    const now = HOST.filter((o) => !(o.kind === "rule" && o.fields["handle"] === 10));
    expect(planNftRestore(snap(HOST), snap(now))).toEqual([]);
  });

  it("tells the same handle in two tables apart when only one of them is new", () => {
    const before = [
      ...HOST,
      table("ip6", "filter", 3),
      chain("ip6", "filter", "FORWARD"),
      rule("ip6", "filter", "FORWARD", 10),
    ];
    const now = [...before, rule("ip6", "filter", "FORWARD", 11)];
    expect(planNftRestore(snap(before), snap(now)).map(nftDeleteArgs)).toEqual([
      ["delete", "rule", "ip6", "filter", "FORWARD", "handle", "11"],
    ]);
  });
});

describe("nftSnapshot", () => {
  it("skips the metainfo entry and objects without a family when reading nft -j output", () => {
    const objects: NftObject[] = [{ kind: "metainfo", fields: { version: "1.0.6" } }, ...HOST];
    const snapshot = nftSnapshot(objects);
    expect(snapshot.tables).toHaveLength(2);
    expect(snapshot.chains).toHaveLength(4);
    expect(snapshot.rules).toHaveLength(2);
    expect(snapshot.named).toEqual([{ kind: "set", family: "ip", table: "filter", name: "docker-set" }]);
  });
});
