/**
 * The suite's containers, started with testcontainers-node the way a Docker user runs the images: the router image
 * on a bind-mounted policy directory, and Redis.
 *
 * Networking: host networking, every listener bound to 127.0.0.1 on a port picked free here. Publishing ports
 * (`-p 127.0.0.1:X:8080`) would need a bridge: rootful Podman 4.3 with CNI then adds iptables DNAT/MASQUERADE rules
 * and turns on net.ipv4.ip_forward, which makes the machine route the bridge's traffic off eth0. With host
 * networking Podman creates no bridge, no rule and no forwarding; the containers' ports are on loopback only (the
 * router's --host and Redis's --bind say so), and the routers reach Redis on 127.0.0.1 like two processes on a host.
 */
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, inject } from "vitest";
import {
  GenericContainer,
  getContainerRuntimeClient,
  Wait,
  type ImagePullPolicy,
  type StartedTestContainer,
} from "testcontainers";
import { freePorts } from "../harness/ports.js";
import { repoRoot } from "../harness/tools.js";
import { IMAGES } from "./images.js";

/** testcontainers reads these when it first talks to the runtime: set them before any container starts. */
export function useSuitePodman(): void {
  Object.assign(process.env, inject("containerEnv"));
}

/** Never pull: the global setup loaded every image the suite uses, and no registry is reachable. */
export const NEVER_PULL: ImagePullPolicy = { shouldPull: () => false };

/** A copy of the repository's examples/ in a new temporary directory the container's user (65532) can read. */
export function copyExamples(): string {
  const dir = mkdtempSync(join(tmpdir(), "routewise-policies-"));
  cpSync(join(repoRoot, "examples"), dir, { recursive: true });
  makeReadable(dir);
  return dir;
}

/** {@link copyExamples} for a test file: copied now, removed after its last afterAll (hooks run in stack order). */
export function useExamplesCopy(): string {
  const dir = copyExamples();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** World-readable files (and traversable directories), as a mounted ConfigMap is. */
export function makeReadable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) makeReadable(path);
    else chmodSync(path, 0o644);
  }
}

export interface RouterContainer {
  readonly container: StartedTestContainer;
  /** http://127.0.0.1:<port> (the API; /v1 for the openai SDK). */
  readonly url: string;
  readonly metricsUrl: string;
  /** Everything the container wrote to stdout and stderr so far. */
  logs(): string;
}

export interface RouterOptions {
  /** Host directory mounted read-only at /policies (`router --config /policies`). */
  policies: string;
  /** More `routewise router` flags (e.g. --redis-url). */
  args?: string[];
  /** A name for the container (shown in `podman ps` and in failures). */
  name?: string;
}

/** `docker run --network host -v <policies>:/policies:ro localhost/routewise router --config /policies …`. */
export async function startRouter(o: RouterOptions): Promise<RouterContainer> {
  const [port, metricsPort] = await freePorts(2);
  const output = collect();
  const args = ["router", "--config", "/policies", "--host", "127.0.0.1", "--port", String(port)];
  args.push("--metrics-port", String(metricsPort), "--workers", "1", "--poll-interval", "1000", ...(o.args ?? []));
  let builder = new GenericContainer(IMAGES.router.name)
    .withPullPolicy(NEVER_PULL)
    .withNetworkMode("host")
    .withBindMounts([{ source: o.policies, target: "/policies", mode: "ro" }])
    .withCommand(args)
    .withLogConsumer(output.consume)
    .withWaitStrategy(Wait.forLogMessage(/Routewise router listening/))
    .withStartupTimeout(120_000);
  if (o.name !== undefined) builder = builder.withName(`${o.name}-${port}`);
  const container = await builder.start().catch((err: unknown) => {
    throw new Error(`the router container did not start: ${String(err)}\n${output.text().slice(-4000)}`, {
      cause: err,
    });
  });
  return {
    container,
    url: `http://127.0.0.1:${port}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    logs: output.text,
  };
}

export interface RedisContainer {
  readonly container: StartedTestContainer;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
}

/** `docker run --network host localhost/redis:7 --bind 127.0.0.1 --port P --save "" --appendonly no`. */
export async function startRedisContainer(): Promise<RedisContainer> {
  const [port] = await freePorts(1);
  const container = await new GenericContainer(IMAGES.redis.name)
    .withPullPolicy(NEVER_PULL)
    .withNetworkMode("host")
    .withCommand(["--bind", "127.0.0.1", "--port", String(port), "--save", "", "--appendonly", "no"])
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .withStartupTimeout(60_000)
    .start();
  return { container, url: `redis://127.0.0.1:${port}` };
}

/** The exit code of a stopped (not removed) container, from the runtime's inspect. */
export async function exitCode(id: string): Promise<number> {
  const client = await getContainerRuntimeClient();
  const info = await client.container.getById(id).inspect();
  return info.State.ExitCode;
}

/** The official openai SDK on a router container (standalone mode takes any key; no retries, so tests see each answer). */
export function client(r: RouterContainer, timeoutMs = 30_000): OpenAI {
  return new OpenAI({ baseURL: `${r.url}/v1`, apiKey: "unused-in-standalone", maxRetries: 0, timeout: timeoutMs });
}

/** Stops (and removes) the containers that started, together; for afterAll, where a beforeAll may have failed. */
export async function stopAll(
  started: readonly ({ readonly container: StartedTestContainer } | undefined)[],
  timeoutMs = 30_000,
): Promise<void> {
  await Promise.all(started.flatMap((s) => (s === undefined ? [] : [s.container.stop({ timeout: timeoutMs })])));
}

/** Removes a container stopped with `remove: false`. */
export async function removeContainer(id: string): Promise<void> {
  const client = await getContainerRuntimeClient();
  await client.container.getById(id).remove({ force: true });
}

function collect(): { consume: (stream: NodeJS.ReadableStream) => void; text: () => string } {
  const chunks: string[] = [];
  return {
    consume: (stream) => {
      stream.on("data", (chunk: Buffer | string) => chunks.push(String(chunk)));
    },
    text: () => chunks.join(""),
  };
}

/** Appends YAML documents (CRs) to a file of a policy directory, readable by the container's user. */
export function addPolicy(dir: string, file: string, ...documents: string[]): void {
  const path = join(dir, file);
  const text = existsSync(path) ? readFileSync(path, "utf8") : "";
  writeFileSync(
    path,
    [text.trimEnd(), ...documents.map((d) => `---\n${d.trim()}\n`)].filter((t) => t !== "").join("\n"),
  );
  chmodSync(path, 0o644);
}

/** A ModelRoute on the given candidates (the first one is the baseline), without fallback. */
export function routeYaml(name: string, candidates: string[]): string {
  return [
    "apiVersion: routewise.dev/v1alpha1",
    "kind: ModelRoute",
    `metadata: { name: ${name} }`,
    "spec:",
    `  modelName: ${name}`,
    `  candidates: [${candidates.map((c) => `{ name: ${c} }`).join(", ")}]`,
    `  baseline: { name: ${candidates[0] ?? ""} }`,
    "  objective: { minQualityRetention: 0.5 }",
    "  fallback: { enabled: false }",
  ].join("\n");
}

/** A simulated ModelProvider; `spec` lines are added under spec (two-space indented YAML). */
export function simulatedProviderYaml(name: string, spec: string[]): string {
  return [
    "apiVersion: routewise.dev/v1alpha1",
    "kind: ModelProvider",
    `metadata: { name: ${name} }`,
    "spec:",
    "  type: simulated",
    `  model: ${name}-model`,
    "  pricing: { inputPerMillion: 1.00, outputPerMillion: 2.00 }",
    "  contextWindow: 8192",
    "  capabilities: { tools: false, vision: false, jsonMode: false, streaming: true }",
    "  quality: { score: 80 }",
    ...spec.map((l) => `  ${l}`),
  ].join("\n");
}

/**
 * The local addresses listening on a TCP port, from /proc/net/tcp and tcp6 (host networking: the containers'
 * sockets are the host's), e.g. ["127.0.0.1"].
 */
export function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const found: string[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      const [address, p] = (local ?? "").split(":");
      if (state === "0A" && p === hexPort && address !== undefined) found.push(decodeAddress(address));
    }
  }
  return found;
}

/** /proc/net/tcp's little-endian hex IPv4 (or the IPv6 hex as is; 0…0 is the wildcard). */
function decodeAddress(hex: string): string {
  if (hex.length !== 8) return /^0+$/.test(hex) ? "::" : hex;
  const bytes = hex.match(/../g) ?? [];
  return bytes
    .reverse()
    .map((b) => parseInt(b, 16))
    .join(".");
}
