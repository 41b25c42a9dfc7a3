import { existsSync } from "node:fs";
import { isRecord } from "../../../router/config/json.js";
import { HarnessError } from "../tools.js";
import { GUARD_TABLE, NODE_BRIDGE, NODE_CIDR, NODE_SUBNET, POD_BRIDGE, POD_CIDR, SERVICE_CIDR } from "./constants.js";
import { run } from "./exec.js";

/** The links default routes leave by (eth0 here): none may be one of our bridges. */
export async function externalLinks(): Promise<string[]> {
  const devs = new Set<string>();
  for (const family of ["-4", "-6"]) {
    const { stdout } = await run("ip", ["-j", family, "route", "show", "default"], { allowFailure: true });
    const routes: unknown = stdout.trim() === "" ? [] : JSON.parse(stdout);
    if (!Array.isArray(routes)) continue;
    for (const route of routes) if (isRecord(route) && typeof route["dev"] === "string") devs.add(route["dev"]);
  }
  return [...devs].sort();
}

/**
 * The guard. Forward hook: a packet that enters or leaves one of our bridges is forwarded only when it enters
 * and leaves the pod bridge (pod ⇄ pod, pod ⇄ Service backends); everything else the machine forwards (Docker,
 * podman, libvirt, k3s, a VPN) is none of our business and passes untouched. Input hook: packets for a cluster
 * address (node, pods, Services) arriving from any link but lo and our bridges are dropped.
 *
 * Why no rule names the default-route link: every cluster address lives on our bridges (pod IPs on the pod
 * bridge, the node IP on the node bridge, Service IPs routed to the node bridge), so a packet of ours that would be
 * forwarded off the machine leaves a bridge of ours (dropped by `iifname`), and one forwarded in from outside
 * enters one (dropped by `oifname`), DNATed by kube-proxy to a pod or not. Packets addressed to the node itself
 * are not forwarded; the input rule drops those from other links. Nothing of ours needs the external link named.
 *
 * The bridge plugin turns net.ipv4.ip_forward on for the whole machine. Only when it was off before the cluster
 * started is `offLinks` non-empty (the default-route links): IPv4 forwarding to or from them is dropped, so the
 * machine does not start routing between its networks while the cluster runs. Nobody forwarded IPv4 before, so
 * nobody loses it; with forwarding already on (Docker, libvirt, a router) no such rule is added.
 */
export function guardRuleset(offLinks: readonly string[] = []): string {
  const off = offLinks.map((name) => JSON.stringify(name)).join(", ");
  const ours = [POD_BRIDGE, NODE_BRIDGE].map((name) => JSON.stringify(name)).join(", ");
  const local = ["lo", NODE_BRIDGE, POD_BRIDGE].map((name) => JSON.stringify(name)).join(", ");
  return [
    `table inet ${GUARD_TABLE} {`,
    "  chain forward {",
    "    type filter hook forward priority -10; policy accept;",
    `    iifname "${POD_BRIDGE}" oifname "${POD_BRIDGE}" accept`,
    `    iifname { ${ours} } drop`,
    `    oifname { ${ours} } drop`,
    offLinks.length > 0 ? `    meta nfproto ipv4 iifname { ${off} } drop` : "",
    offLinks.length > 0 ? `    meta nfproto ipv4 oifname { ${off} } drop` : "",
    "  }",
    "  chain input {",
    "    type filter hook input priority -10; policy accept;",
    `    iifname != { ${local} } ip daddr { ${NODE_SUBNET}, ${POD_CIDR}, ${SERVICE_CIDR} } drop`,
    "  }",
    "}",
    "",
  ]
    .filter((line, i, all) => line !== "" || i === all.length - 1)
    .join("\n");
}

/** An IPv4 CIDR as [network, prefix length]; undefined for IPv6 or anything else. */
function parseCidr(cidr: string): [number, number] | undefined {
  const [address = "", bits = "32"] = cidr.split("/");
  const octets = address.split(".").map(Number);
  const prefix = Number(bits);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) return undefined;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined;
  const value = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  return [value - (value % size), prefix];
}

/** True when two IPv4 CIDRs share an address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y) return false;
  const prefix = Math.min(x[1], y[1]);
  const size = 2 ** (32 - prefix);
  return Math.floor(x[0] / size) === Math.floor(y[0] / size);
}

/**
 * Routes of `ip -j route show table all` (parsed JSON) whose destination overlaps one of `cidrs`, as
 * "dst dev" strings. Default routes do not count: they overlap everything and are how the machine reaches out.
 */
export function overlappingRoutes(routes: unknown, cidrs: readonly string[]): string[] {
  if (!Array.isArray(routes)) return [];
  const found: string[] = [];
  for (const route of routes) {
    if (!isRecord(route) || typeof route["dst"] !== "string" || route["dst"] === "default") continue;
    if (route["type"] === "broadcast" || route["type"] === "multicast") continue;
    const dst = route["dst"];
    const hits = cidrs.filter((cidr) => cidrsOverlap(dst, cidr));
    if (hits.length > 0) found.push(`${dst} dev ${String(route["dev"])} (overlaps ${hits.join(", ")})`);
  }
  return found;
}

/** Refuses to start when a bridge of ours exists or a route already covers one of our CIDRs. */
async function checkNetworkFree(external: readonly string[]): Promise<void> {
  if (external.includes(NODE_BRIDGE) || external.includes(POD_BRIDGE)) {
    throw new HarnessError(`a default route leaves by ${NODE_BRIDGE} or ${POD_BRIDGE}: refusing to start`);
  }
  const taken = [NODE_BRIDGE, POD_BRIDGE].filter((name) => existsSync(`/sys/class/net/${name}`));
  if (taken.length > 0) {
    throw new HarnessError(
      `link ${taken.join(", ")} already exists: another program (or a cluster run not cleaned up: ` +
        "`npm run cluster -- --cleanup`) uses it; refusing to start",
    );
  }
  const { stdout } = await run("ip", ["-j", "-4", "route", "show", "table", "all"]);
  const clash = overlappingRoutes(JSON.parse(stdout), [NODE_SUBNET, POD_CIDR, SERVICE_CIDR]);
  if (clash.length > 0) {
    throw new HarnessError(
      `the cluster's addresses are in use on this machine: ${clash.join("; ")}. The node (${NODE_SUBNET}), ` +
        `pods (${POD_CIDR}) and Services (${SERVICE_CIDR}) need ranges no other network uses; refusing to start`,
    );
  }
}

/**
 * Creates the node bridge with the node IP, routes Service IPs to it, and loads the guard table; `ipForward` is
 * net.ipv4.ip_forward as recorded before start.
 */
export async function setUpHostNetwork(ipForward: string | undefined): Promise<void> {
  const external = await externalLinks();
  await checkNetworkFree(external);
  await run("nft", ["-f", "-"], { input: guardRuleset(ipForward === "0" ? external : []) });
  await run("ip", ["link", "add", NODE_BRIDGE, "type", "bridge"]);
  await run("ip", ["addr", "add", NODE_CIDR, "dev", NODE_BRIDGE]);
  await run("ip", ["link", "set", NODE_BRIDGE, "up"]);
  await run("ip", ["route", "add", SERVICE_CIDR, "dev", NODE_BRIDGE]);
}
