/**
 * The values of the Secrets the current objects reference, and only those (ADR 9). The operator watches Secrets as
 * metadata only; this GETs a referenced Secret by name when its resourceVersion in the metadata cache differs from
 * the one held (so an unchanged Secret is not read again), and forgets a Secret once nothing references it or it
 * is gone. What it holds is all the operator knows of Secret contents: it is what gets copied and what gets redacted.
 */
import { secretKey, type SecretRef } from "../compile/secret-refs.js";
import { runLimited } from "./run-limited.js";

/** A Secret as read by name: its identity, version and data (base64, as the API serves it). */
export interface HeldSecret {
  metadata: { namespace: string; name: string; resourceVersion: string };
  data: Record<string, string>;
}

/** Reads one Secret by name; null when there is none. */
export type SecretRead = (ref: SecretRef) => Promise<HeldSecret | null>;

export type SecretReadResult = "success" | "not_found" | "error";

export interface SecretValuesOptions {
  read: SecretRead;
  /** Called once per read, with its result (for routewise_operator_secret_reads_total). */
  onRead?: (result: SecretReadResult) => void;
  /** Reads in flight at once (default 16). */
  concurrency?: number;
}

export class SecretValues {
  private readonly held = new Map<string, HeldSecret>();

  constructor(private readonly o: SecretValuesOptions) {}

  /**
   * The referenced Secrets that exist, with their values. `versions` is the metadata cache: resourceVersion by
   * `namespace/name` of every Secret there is. A Secret referenced but absent there is not read (not found).
   * Rejects when a read fails (the reconcile is retried); what was read meanwhile is kept.
   */
  async resolve(refs: readonly SecretRef[], versions: ReadonlyMap<string, string>): Promise<HeldSecret[]> {
    const wanted = new Set(refs.map(secretKey));
    for (const key of [...this.held.keys()]) if (!wanted.has(key) || !versions.has(key)) this.held.delete(key);
    const stale = refs.filter((r) => {
      const version = versions.get(secretKey(r));
      return version !== undefined && this.held.get(secretKey(r))?.metadata.resourceVersion !== version;
    });
    const errors = await runLimited(
      stale.map((r) => () => this.refresh(r)),
      this.o.concurrency ?? 16,
    );
    // refresh() rejects with Errors only.
    if (errors.length > 0) throw errors[0] as Error;
    return refs.flatMap((r) => {
      const s = versions.has(secretKey(r)) ? this.held.get(secretKey(r)) : undefined;
      return s ? [s] : [];
    });
  }

  /** What is held: names and versions, never values. */
  entries(): { namespace: string; name: string; resourceVersion: string }[] {
    return [...this.held.values()].map((s) => ({ ...s.metadata }));
  }

  private async refresh(ref: SecretRef): Promise<void> {
    let secret: HeldSecret | null;
    try {
      secret = await this.o.read(ref);
    } catch (err) {
      this.o.onRead?.("error");
      throw new Error(`Failed to read Secret ${secretKey(ref)}`, { cause: err });
    }
    this.o.onRead?.(secret ? "success" : "not_found");
    if (secret) this.held.set(secretKey(ref), secret);
    else this.held.delete(secretKey(ref));
  }
}
