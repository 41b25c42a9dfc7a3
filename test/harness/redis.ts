/**
 * A real Redis (Debian's `redis-server`, linked into .tools/bin by `npm run setup:tools`) on a free loopback port,
 * in a temporary directory, without persistence, for tests of the shared state store. It can be killed, paused
 * (SIGSTOP: a server that accepts connections but never answers) and started again on the same port.
 */
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { Redis } from "ioredis";
import { freePorts } from "./ports.js";
import { ManagedProcess } from "./process.js";
import { repoRoot } from "./tools.js";
import { waitFor } from "./wait.js";

export interface RunningRedis {
  /** redis://127.0.0.1:<port> (no credentials). */
  url: string;
  port: number;
  /** Set with `requirepass`. */
  password: string | undefined;
  /** A client for assertions (lazily created, closed by stop()). */
  client(): Redis;
  /** SIGKILL: the server is gone, with everything it held. */
  kill(): Promise<void>;
  /** Starts a fresh server on the same port (after kill). */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: connections stay open, nothing answers. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** The redis-server binary: .tools/bin first, then PATH. */
export function redisServerPath(): string {
  const dirs = [join(repoRoot, ".tools", "bin"), ...(process.env["PATH"] ?? "").split(delimiter)];
  for (const dir of dirs.filter((d) => d !== "")) {
    const candidate = join(dir, "redis-server");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(
    "redis-server not found in .tools/bin or PATH: run 'npm run setup:tools' or 'apt-get install -y --no-install-recommends redis-server'",
  );
}

export async function startRedis(o: { password?: string } = {}): Promise<RunningRedis> {
  const dir = mkdtempSync(join(tmpdir(), "routewise-redis-"));
  const [port] = await freePorts(1);
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
  if (o.password !== undefined) args.push("--requirepass", o.password);
  let server = await launch(args, join(dir, "redis.log"), port, o.password);
  let client: Redis | null = null;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    password: o.password,
    client: () => {
      client ??= new Redis({ host: "127.0.0.1", port, ...(o.password === undefined ? {} : { password: o.password }) });
      client.on("error", () => undefined);
      return client;
    },
    kill: async () => {
      process.kill(server.pid ?? 0, "SIGKILL");
      await server.exited;
    },
    restart: async () => {
      server = await launch(args, join(dir, "redis.log"), port, o.password);
    },
    pause: () => process.kill(server.pid ?? 0, "SIGSTOP"),
    resume: () => process.kill(server.pid ?? 0, "SIGCONT"),
    stop: async () => {
      client?.disconnect();
      if (server.pid !== undefined && server.exit === undefined) process.kill(server.pid, "SIGCONT");
      await server.stop(5_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function launch(args: string[], log: string, port: number, password: string | undefined) {
  const server = ManagedProcess.start("redis-server", redisServerPath(), args, log);
  const probe = new Redis({
    host: "127.0.0.1",
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...(password === undefined ? {} : { password }),
  });
  probe.on("error", () => undefined);
  try {
    await waitFor(
      async () => {
        if (server.exit) throw new Error(`redis-server exited: ${server.logTail()}`);
        if (probe.status !== "ready") await probe.connect().catch(() => undefined);
        await probe.ping();
        return true;
      },
      15_000,
      { description: `redis-server on port ${port}` },
    );
  } finally {
    probe.disconnect();
  }
  return server;
}
