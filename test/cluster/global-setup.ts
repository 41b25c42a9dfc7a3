/**
 * Before the cluster suite: restore the host if an earlier run crashed (its state file is still there), so each
 * test's "before" snapshot is of a clean host. Fails at once, with the reason, when not root or a tool is missing.
 */
import { cleanUpNodeCluster } from "../harness/node-cluster/index.js";

export async function setup(): Promise<void> {
  const report = await cleanUpNodeCluster({ log: (line) => process.stderr.write(`[cluster] ${line}\n`) });
  if (report !== undefined) process.stderr.write(`[cluster] Restored the host after a crashed run\n`);
}
