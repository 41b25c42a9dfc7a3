/**
 * The nft half of the restore, pure: what the ruleset held before the cluster started (recorded in the state
 * file) and what it holds now give the exact objects to delete. Only objects that are new since the record go;
 * nothing is matched by name, so Docker's, podman's, libvirt's or k3s's rules and chains (KUBE-* included) stay.
 */
import type { NftObject } from "./host-probe.js";

export interface NftTableRef {
  readonly family: string;
  readonly name: string;
  /** nft's handle of the table: a table deleted and made again under the same name gets a new one. */
  readonly handle: number;
}

export interface NftChainRef {
  readonly family: string;
  readonly table: string;
  readonly name: string;
}

export interface NftRuleRef {
  readonly family: string;
  readonly table: string;
  readonly chain: string;
  /** Unique within its table and never reused while the table exists. */
  readonly handle: number;
}

/** Named objects other than chains: sets, maps, flowtables, counters, quotas, limits. */
export interface NftNamedRef {
  readonly kind: NftNamedKind;
  readonly family: string;
  readonly table: string;
  readonly name: string;
}

export const NFT_NAMED_KINDS = ["set", "map", "flowtable", "counter", "quota", "limit"] as const;
export type NftNamedKind = (typeof NFT_NAMED_KINDS)[number];

/** The parts of `nft -j list ruleset` the restore needs to tell new from old. */
export interface NftSnapshot {
  readonly tables: readonly NftTableRef[];
  readonly chains: readonly NftChainRef[];
  readonly rules: readonly NftRuleRef[];
  readonly named: readonly NftNamedRef[];
}

/** One `nft delete …` of the plan. */
export type NftDeletion =
  | ({ readonly kind: "rule" } & NftRuleRef)
  | ({ readonly kind: "chain" } & NftChainRef)
  | NftNamedRef
  | ({ readonly kind: "table" } & NftTableRef);

const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);
const num = (value: unknown): number | undefined => (typeof value === "number" ? value : undefined);
const isNamedKind = (kind: string): kind is NftNamedKind => (NFT_NAMED_KINDS as readonly string[]).includes(kind);

/** Picks tables, chains, rules and named objects out of a flattened `nft -j list ruleset`. */
export function nftSnapshot(objects: readonly NftObject[]): NftSnapshot {
  const tables: NftTableRef[] = [];
  const chains: NftChainRef[] = [];
  const rules: NftRuleRef[] = [];
  const named: NftNamedRef[] = [];
  for (const { kind, fields } of objects) {
    const family = str(fields["family"]);
    const table = str(fields["table"]);
    const name = str(fields["name"]);
    const handle = num(fields["handle"]);
    const chain = str(fields["chain"]);
    if (family === undefined) continue;
    if (kind === "table" && name !== undefined && handle !== undefined) tables.push({ family, name, handle });
    else if (table === undefined) continue;
    else if (kind === "chain" && name !== undefined) chains.push({ family, table, name });
    else if (kind === "rule" && chain !== undefined && handle !== undefined)
      rules.push({ family, table, chain, handle });
    else if (isNamedKind(kind) && name !== undefined) named.push({ kind, family, table, name });
  }
  return { tables, chains, rules, named };
}

const tableId = (family: string, table: string): string => `${family} ${table}`;

/**
 * What to delete to put the ruleset back: rules that are new in tables that were there before (their handle was
 * not recorded), then new chains and named objects in those tables (their rules went first), then the tables that
 * are new, whole. A table that existed before but now has another handle was deleted and made again by someone
 * else meanwhile (a firewall reload): its contents cannot be told apart, so it is left alone.
 */
export function planNftRestore(before: NftSnapshot, now: NftSnapshot): NftDeletion[] {
  const beforeTables = new Map(before.tables.map((t) => [tableId(t.family, t.name), t.handle]));
  const nowTables = new Map(now.tables.map((t) => [tableId(t.family, t.name), t.handle]));
  const kept = (family: string, table: string): boolean => {
    const id = tableId(family, table);
    return beforeTables.has(id) && beforeTables.get(id) === nowTables.get(id);
  };
  const oldRules = new Set(before.rules.map((r) => `${tableId(r.family, r.table)} ${r.handle}`));
  const oldChains = new Set(before.chains.map((c) => `${tableId(c.family, c.table)} ${c.name}`));
  const oldNamed = new Set(before.named.map((n) => `${n.kind} ${tableId(n.family, n.table)} ${n.name}`));
  const rules: NftDeletion[] = now.rules
    .filter((r) => kept(r.family, r.table) && !oldRules.has(`${tableId(r.family, r.table)} ${r.handle}`))
    .map((r) => ({ kind: "rule", ...r }));
  const chains: NftDeletion[] = now.chains
    .filter((c) => kept(c.family, c.table) && !oldChains.has(`${tableId(c.family, c.table)} ${c.name}`))
    .map((c) => ({ kind: "chain", ...c }));
  const named: NftDeletion[] = now.named.filter(
    (n) => kept(n.family, n.table) && !oldNamed.has(`${n.kind} ${tableId(n.family, n.table)} ${n.name}`),
  );
  const tables: NftDeletion[] = now.tables
    .filter((t) => !beforeTables.has(tableId(t.family, t.name)))
    .map((t) => ({ kind: "table", ...t }));
  return [...rules, ...chains, ...named, ...tables];
}

/** The `nft` arguments that perform one deletion. */
export function nftDeleteArgs(deletion: NftDeletion): string[] {
  switch (deletion.kind) {
    case "rule":
      return ["delete", "rule", deletion.family, deletion.table, deletion.chain, "handle", String(deletion.handle)];
    case "table":
      return ["delete", "table", deletion.family, deletion.name];
    default:
      return ["delete", deletion.kind, deletion.family, deletion.table, deletion.name];
  }
}

/** A short description of a deletion for the restore report. */
export function describeNftDeletion(deletion: NftDeletion): string {
  if (deletion.kind === "rule") {
    return `rule ${deletion.family} ${deletion.table} ${deletion.chain} handle ${deletion.handle}`;
  }
  if (deletion.kind === "table") return `table ${deletion.family} ${deletion.name}`;
  return `${deletion.kind} ${deletion.family} ${deletion.table} ${deletion.name}`;
}
