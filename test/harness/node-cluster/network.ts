import { isRecord } from "../../../router/config/json.js";
import { HarnessError } from "../tools.js";
import { GUARD_TABLE, NODE_BRIDGE, NODE_CIDR, NODE_SUBNET, POD_BRIDGE, POD_CIDR, SERVICE_CIDR } from "./constants.js";
import { run } from "./exec.js";

/** The links default routes leave by (eth0 here): nothing may be forwarded to or from them. */
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
 * The guard: forwarded packets may only enter and leave cni0 together (pod ⇄ pod, pod ⇄ Service backends), and
 * nothing is forwarded to or from the external links; packets from any other link for a cluster address (node,
 * pods, Services) are dropped on input. Podman's own bridges keep working among themselves.
 */
export function guardRuleset(external: readonly string[]): string {
  const ext = external.map((name) => JSON.stringify(name)).join(", ");
  const externalRules = external.length === 0 ? "" : `    iifname { ${ext} } drop\n    oifname { ${ext} } drop\n`;
  const local = ["lo", NODE_BRIDGE, POD_BRIDGE].map((name) => JSON.stringify(name)).join(", ");
  return [
    `table inet ${GUARD_TABLE} {`,
    "  chain forward {",
    "    type filter hook forward priority -10; policy accept;",
    `    iifname "${POD_BRIDGE}" oifname "${POD_BRIDGE}" accept`,
    `    iifname "${POD_BRIDGE}" drop`,
    `    oifname "${POD_BRIDGE}" drop`,
    externalRules.trimEnd(),
    "  }",
    "  chain input {",
    "    type filter hook input priority -10; policy accept;",
    `    iifname != { ${local} } ip daddr { ${NODE_SUBNET}, ${POD_CIDR}, ${SERVICE_CIDR} } drop`,
    "  }",
    "}",
    "",
  ]
    .filter((line) => line !== "")
    .join("\n");
}

/** Creates the node bridge with the node IP, routes Service IPs to it, and loads the guard table. */
export async function setUpHostNetwork(): Promise<void> {
  const external = await externalLinks();
  if (external.includes(NODE_BRIDGE) || external.includes(POD_BRIDGE)) {
    throw new HarnessError(`a default route leaves by ${NODE_BRIDGE} or ${POD_BRIDGE}: refusing to start`);
  }
  await run("nft", ["-f", "-"], { input: guardRuleset(external) });
  await run("ip", ["link", "add", NODE_BRIDGE, "type", "bridge"]);
  await run("ip", ["addr", "add", NODE_CIDR, "dev", NODE_BRIDGE]);
  await run("ip", ["link", "set", NODE_BRIDGE, "up"]);
  await run("ip", ["route", "add", SERVICE_CIDR, "dev", NODE_BRIDGE]);
}
