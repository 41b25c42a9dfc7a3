/**
 * vitest globalSetup of the `containers` project: one private Podman API service (test/harness/podman.ts) for the
 * run, with the images `npm run image` wrote to <repo>/.images/ loaded into its storage, and the environment
 * testcontainers-node needs to use it provided to the tests (inject("containerEnv"), see routewise-containers.ts).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startPodmanService, sweepStaleServices, type PodmanService } from "../harness/podman.js";
import { HarnessError, repoRoot } from "../harness/tools.js";
import { IMAGES } from "./images.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** DOCKER_HOST, TESTCONTAINERS_RYUK_DISABLED, TESTCONTAINERS_HOST_OVERRIDE for testcontainers-node. */
    containerEnv: Record<string, string>;
  }
}

let service: PodmanService | undefined;

export async function setup(project: TestProject): Promise<void> {
  const dir = process.env["ROUTEWISE_IMAGES_DIR"] ?? join(repoRoot, ".images");
  const tarballs = Object.values(IMAGES).map((image) => ({ ...image, path: join(dir, image.tarball) }));
  const missing = tarballs.filter((t) => !existsSync(t.path)).map((t) => t.path);
  if (missing.length > 0) {
    throw new HarnessError(`container images not built (${missing.join(", ")} missing): run \`npm run image\` first`);
  }
  const log = (line: string): void => console.log(`[podman] ${line}`);
  await sweepStaleServices(log);
  service = await startPodmanService({ log });
  try {
    for (const t of tarballs) {
      const loaded = await service.load(t.path);
      if (!loaded.includes(t.name)) {
        throw new HarnessError(
          `${t.path} holds ${loaded.join(", ") || "no image"}, not ${t.name}: run \`npm run image\``,
        );
      }
    }
  } catch (err) {
    await service.stop();
    service = undefined;
    throw err;
  }
  console.log(`[podman] API on ${service.dockerHost}; loaded ${tarballs.map((t) => t.name).join(", ")}`);
  project.provide("containerEnv", {
    DOCKER_HOST: service.dockerHost,
    // The reaper (ryuk) is an image from a registry; the teardown below removes every container instead.
    TESTCONTAINERS_RYUK_DISABLED: "true",
    // Otherwise testcontainers talks to the bridge gateway's address; the suite's ports are on loopback.
    TESTCONTAINERS_HOST_OVERRIDE: "127.0.0.1",
  });
}

export async function teardown(): Promise<void> {
  const s = service;
  service = undefined;
  await s?.stop();
}
