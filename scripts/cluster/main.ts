/**
 * npm run cluster -- --kubeconfig PATH [--dir DIR] [--images a.tar,b.tar]
 * npm run cluster -- --cleanup
 *
 * Starts the single-node cluster of test/harness/node-cluster (needs root), writes the admin kubeconfig to PATH
 * once the node is Ready and prints one JSON line; on SIGTERM or SIGINT stops everything, restores the host and
 * exits 0. --cleanup restores the host after a crashed run. See docs/adr/0019-single-node-cluster.md.
 */
import { copyFile, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { cleanUpNodeCluster, startNodeCluster, type NodeCluster } from "../../test/harness/node-cluster/index.js";

const USAGE = "usage: npm run cluster -- --kubeconfig PATH [--dir DIR] [--images a.tar,b.tar] | --cleanup";

function log(line: string): void {
  process.stderr.write(`[cluster] ${line}\n`);
}

function parse(): { kubeconfig?: string; dir?: string; images?: string[]; cleanup: boolean } {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: "string" },
      dir: { type: "string" },
      images: { type: "string" },
      cleanup: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const images = values.images
    ?.split(",")
    .filter((s) => s !== "")
    .map((s) => resolve(s));
  return {
    cleanup: values.cleanup,
    ...(values.kubeconfig === undefined ? {} : { kubeconfig: resolve(values.kubeconfig) }),
    ...(values.dir === undefined ? {} : { dir: resolve(values.dir) }),
    ...(images === undefined ? {} : { images }),
  };
}

/** Resolves on the first SIGTERM or SIGINT. */
function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((done) => {
    const on = (signal: NodeJS.Signals): void => {
      log(`Received ${signal}: stopping the cluster and restoring the host`);
      done(signal);
    };
    process.once("SIGTERM", on);
    process.once("SIGINT", on);
  });
}

async function serve(kubeconfig: string, dir: string | undefined, images: string[] | undefined): Promise<void> {
  await rm(kubeconfig, { force: true });
  const signal = stopSignal();
  // A signal during start-up stops the cluster as soon as it is up (start() itself restores on failure).
  const cluster: NodeCluster = await startNodeCluster({
    log,
    ...(dir === undefined ? {} : { dir }),
    ...(images === undefined ? {} : { images }),
  });
  await copyFile(cluster.kubeconfig, kubeconfig);
  const ready = {
    kubeconfig,
    nodeIP: cluster.nodeIP,
    dir: cluster.dir,
    readySeconds: cluster.timings.readyMs / 1000,
    lockWaitSeconds: cluster.timings.lockWaitMs / 1000,
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  await signal;
  process.on("SIGTERM", () => log("Already stopping"));
  process.on("SIGINT", () => log("Already stopping"));
  const stopping = Date.now();
  try {
    await cluster.stop();
  } finally {
    await rm(kubeconfig, { force: true });
  }
  process.stdout.write(`${JSON.stringify({ stopped: true, stopSeconds: (Date.now() - stopping) / 1000 })}\n`);
}

async function main(): Promise<void> {
  const args = parse();
  if (args.cleanup) {
    const report = await cleanUpNodeCluster({ log });
    process.stdout.write(`${JSON.stringify({ cleanedUp: report !== undefined, ...(report ? { report } : {}) })}\n`);
    return;
  }
  if (args.kubeconfig === undefined) throw new Error(`--kubeconfig is required\n${USAGE}`);
  await serve(args.kubeconfig, args.dir, args.images);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
