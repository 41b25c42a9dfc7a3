/**
 * The images `npm run image` writes to <repo>/.images/ (docker-archive tarballs, loaded by the global setup into
 * the suite's own Podman storage; nothing is ever pulled).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../harness/tools.js";

const version = (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string }).version;

export const IMAGES = {
  /** entrypoint `node bin/routewise.js`, user 65532, workdir /app; no policies inside (mount them). */
  router: { name: `localhost/routewise:${version}`, tarball: "routewise.tar" },
  /** Debian's redis-server, entrypoint `redis-server`. */
  redis: { name: "localhost/redis:7", tarball: "redis.tar" },
} as const;
