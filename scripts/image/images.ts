/**
 * The three images as layer lists: routewise (the Dockerfile's production stage on the host-node base), redis
 * (Debian's redis-server on the same base layer) and pause (one static binary). Host facts (ldd results, the
 * compiled output, the dependency list) come in as arguments, so the composition itself is testable.
 */
import { existsSync, statSync } from "node:fs";
import { basename, join, posix } from "node:path";
import type { ImageSpec, LayerSpec } from "./archive.js";
import { DockerfileError, type ProductionStage, type Step } from "./dockerfile.js";
import { baseEntries, hostFile, libraryEntries, NONROOT, treeEntries, type Keep } from "./rootfs.js";
import { dirEntry, fileEntry, type TarEntry } from "./tar.js";

export const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** Where node lives in the image (as in the official node images), so `ENTRYPOINT ["node", ...]` finds it. */
export const NODE_PATH = "usr/local/bin/node";

/** The shared bottom layer: /etc, /tmp and the libraries the runtime (node) loads. */
export function baseLayer(libs: readonly string[], caBundle?: string | null): LayerSpec {
  return {
    id: "base",
    createdBy:
      "routewise base: /etc/passwd, /etc/group (root, nonroot 65532), nsswitch.conf, CA bundle, /tmp, libraries of node (ldd)",
    entries: caBundle === undefined ? baseEntries(libs) : baseEntries(libs, caBundle),
  };
}

export function nodeLayer(nodeBinary: string): LayerSpec {
  return {
    id: "node",
    createdBy: `host node ${process.version} at /${NODE_PATH}`,
    entries: [hostFile(NODE_PATH, nodeBinary)],
  };
}

/** What the routewise image is made from besides the Dockerfile. */
export interface RoutewiseInputs {
  readonly repoRoot: string;
  readonly version: string;
  /** The compiled output (what `npm run build` leaves in /app/dist/). */
  readonly distDir: string;
  /** Production package dirs relative to the repo (`node_modules/x`, from `npm ls --omit=dev --all --parseable`). */
  readonly packages: readonly string[];
  readonly base: LayerSpec;
  readonly node: LayerSpec;
  /** Libraries the native addons in the dependency tree load that the base lacks (host paths). */
  readonly nativeLibraries: (files: readonly string[]) => readonly string[];
  readonly platform?: string;
  readonly arch?: string;
}

/** Drops prebuilt addon binaries for other platforms (onnxruntime-node ships darwin, win32 and arm64 ones). */
export function keepForPlatform(platform: string, arch: string): Keep {
  return (relative) => {
    const m = /^bin\/napi-v\d+\/([^/]+)(?:\/([^/]+))?/.exec(relative);
    if (m === null) return true;
    return m[1] === platform && (m[2] === undefined || m[2] === arch);
  };
}

/** The node major of a base image reference like node:20.19.5-bookworm-slim (null if it names no version). */
export function nodeMajor(baseImage: string): number | null {
  const m = /(?:^|\/)node:(\d+)/.exec(baseImage);
  return m === null ? null : Number(m[1]);
}

function copyEntries(
  step: Extract<Step, { kind: "copy" | "compiled" }>,
  repoRoot: string,
  distDir: string,
): TarEntry[] {
  const out: TarEntry[] = [];
  for (const source of step.copy.sources) {
    const host = step.kind === "compiled" ? distDir : join(repoRoot, source);
    if (!existsSync(host)) throw new DockerfileError(`Dockerfile line ${step.line}: ${source} does not exist`);
    if (statSync(host).isDirectory()) out.push(dirEntry(step.destPath), ...treeEntries(host, step.destPath));
    else
      out.push(
        hostFile(step.destPath.endsWith("/") ? posix.join(step.destPath, basename(source)) : step.destPath, host),
      );
  }
  return out;
}

const NATIVE = /(\.node|\.so(\.\d+)*)$/;

function dependencyEntries(
  step: Extract<Step, { kind: "production-dependencies" }>,
  inputs: RoutewiseInputs,
): TarEntry[] {
  const platform = inputs.platform ?? process.platform;
  const arch = inputs.arch ?? process.arch;
  const keepPlatform = keepForPlatform(platform, arch);
  const entries: TarEntry[] = [];
  for (const pkg of [...inputs.packages].sort()) {
    const keep: Keep = (rel, isDir) => !(isDir && rel === "node_modules") && keepPlatform(rel, isDir);
    entries.push(
      dirEntry(posix.join(step.dir, pkg)),
      ...treeEntries(join(inputs.repoRoot, pkg), posix.join(step.dir, pkg), keep),
    );
  }
  const natives = entries.flatMap((e) =>
    e.kind === "file" && "source" in e.content && NATIVE.test(e.path) ? [e.content.source] : [],
  );
  return [...entries, ...libraryEntries(inputs.nativeLibraries(natives))];
}

function stepLayer(step: Step, inputs: RoutewiseInputs, index: number): LayerSpec {
  const entries =
    step.kind === "production-dependencies"
      ? dependencyEntries(step, inputs)
      : copyEntries(step, inputs.repoRoot, inputs.distDir);
  return { id: `routewise-${index}`, createdBy: step.text, entries };
}

/** The routewise image: base + node + one layer per file-producing step of the Dockerfile's production stage. */
export function routewiseImage(stage: ProductionStage, inputs: RoutewiseInputs): ImageSpec {
  const major = nodeMajor(stage.baseImage);
  const hostMajor = Number(process.versions.node.split(".")[0]);
  if (major !== hostMajor) {
    throw new DockerfileError(
      `the Dockerfile's production stage runs ${stage.baseImage} (node ${String(major)}), but the host's node is ${process.version}: the Docker-less image would run another Node major`,
    );
  }
  const workdir: TarEntry[] = [dirEntry(stage.workdir)];
  const steps = stage.steps.map((s, i) => stepLayer(s, inputs, i));
  const first = steps[0];
  const layers = first === undefined ? [] : [{ ...first, entries: [...workdir, ...first.entries] }, ...steps.slice(1)];
  return {
    key: "routewise",
    tags: [`localhost/routewise:${inputs.version}`],
    config: {
      ...(stage.user === null ? {} : { user: stage.user }),
      env: [DEFAULT_PATH, ...stage.env.map(([k, v]) => `${k}=${v}`)],
      entrypoint: stage.entrypoint,
      cmd: stage.cmd,
      workingDir: stage.workdir,
      exposedPorts: stage.exposedPorts,
      labels: { "org.opencontainers.image.title": "routewise", "org.opencontainers.image.version": inputs.version },
    },
    layers: [inputs.base, inputs.node, ...layers],
  };
}

/** The redis major of `redis-server --version` output ("Redis server v=7.0.15 ..."). */
export function redisVersion(versionOutput: string): string {
  const m = /v=(\d+\.\d+\.\d+)/.exec(versionOutput);
  if (m?.[1] === undefined) throw new Error(`cannot read the redis version from: ${versionOutput.trim()}`);
  return m[1];
}

/**
 * Debian's redis-server on the shared base: runs as nonroot (65532) in /data. Protected mode is off (as in the
 * official image) because clients connect from outside the container's loopback; arguments are appended.
 */
export function redisImage(base: LayerSpec, redisServer: string, libs: readonly string[], version: string): ImageSpec {
  const baseLibs = new Set(base.entries.map((e) => `/${e.path}`));
  const major = version.split(".")[0] ?? version;
  return {
    key: "redis",
    tags: [`localhost/redis:${major}`, `localhost/redis:${version}`],
    config: {
      user: `${NONROOT.uid}:${NONROOT.gid}`,
      env: [DEFAULT_PATH],
      entrypoint: ["redis-server", "--protected-mode", "no"],
      cmd: [],
      workingDir: "/data",
      exposedPorts: ["6379/tcp"],
      labels: { "org.opencontainers.image.title": "redis", "org.opencontainers.image.version": version },
    },
    layers: [
      base,
      {
        id: "redis",
        createdBy: `Debian redis-server ${version} at /usr/bin/redis-server and its libraries (ldd); /data owned by 65532`,
        entries: [
          hostFile("usr/bin/redis-server", redisServer),
          ...libraryEntries(libs.filter((l) => !baseLibs.has(l))),
          dirEntry("data", 0o755, NONROOT),
        ],
      },
    ],
  };
}

/** The pod sandbox image: the static pause binary only, run as 65535 like the upstream pause image. */
export function pauseImage(pauseBinary: string): ImageSpec {
  return {
    key: "pause",
    tags: ["localhost/k8s-pause:1"],
    config: {
      user: "65535:65535",
      env: [DEFAULT_PATH],
      entrypoint: ["/pause"],
      cmd: [],
      workingDir: "/",
      exposedPorts: [],
    },
    layers: [
      {
        id: "pause",
        createdBy: "scripts/image/pause (go build -trimpath, static)",
        entries: [fileEntry("pause", { source: pauseBinary }, 0o755)],
      },
    ],
  };
}
