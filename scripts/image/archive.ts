/**
 * The `docker save` layout (docker-archive): manifest.json with RepoTags, the image config as <sha256>.json and
 * one uncompressed <diff-id>/layer.tar per layer. `podman load -i` and `ctr images import` both read it. Layers are
 * written once per build (a shared layer is reused by every image that lists it) and everything is deterministic.
 */
import { createHash } from "node:crypto";
import { renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileEntry, writeTar, type TarEntry, type Written } from "./tar.js";

/** A layer: an id unique within one build (shared layers reuse it), what made it, and its entries. */
export interface LayerSpec {
  readonly id: string;
  readonly createdBy: string;
  readonly entries: readonly TarEntry[];
}

/** The runtime part of the image config (Docker's "config" object). */
export interface RuntimeConfig {
  readonly user?: string;
  readonly env: readonly string[];
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly workingDir: string;
  readonly exposedPorts: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
}

export interface ImageSpec {
  /** Short name for logs and --only (routewise, redis, pause). */
  readonly key: string;
  /** The first tag is the image's name. */
  readonly tags: readonly string[];
  readonly config: RuntimeConfig;
  readonly layers: readonly LayerSpec[];
}

/** What was written, one JSON line per image on stdout. */
export interface ImageResult {
  readonly name: string;
  readonly tags: readonly string[];
  readonly path: string;
  readonly bytes: number;
  /** The image id: the config's digest. */
  readonly id: string;
  /** The layers' diff ids (uncompressed tar digests), bottom first. */
  readonly layers: readonly string[];
}

const ARCH: Readonly<Record<string, string>> = { x64: "amd64", arm64: "arm64" };

/** Docker's architecture name for a Node `process.arch`. */
export function dockerArch(arch: string = process.arch): string {
  return ARCH[arch] ?? arch;
}

/** RFC 3339 time of a SOURCE_DATE_EPOCH. */
export function isoTime(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.000Z$/, "Z");
}

/** The image config JSON (keys in a fixed order). */
export function imageConfig(spec: ImageSpec, diffIds: readonly string[], epoch: number): string {
  const c = spec.config;
  const created = isoTime(epoch);
  const config = {
    architecture: dockerArch(),
    config: {
      ...(c.user === undefined ? {} : { User: c.user }),
      ExposedPorts: Object.fromEntries(c.exposedPorts.map((p) => [p, {}])),
      Env: c.env,
      Entrypoint: c.entrypoint,
      Cmd: c.cmd,
      WorkingDir: c.workingDir,
      Labels: c.labels ?? {},
    },
    created,
    history: spec.layers.map((l) => ({ created, created_by: l.createdBy })),
    os: "linux",
    rootfs: { type: "layers", diff_ids: diffIds },
  };
  return `${JSON.stringify(config)}\n`;
}

/** manifest.json of a docker-archive holding one image. */
export function archiveManifest(configFile: string, tags: readonly string[], layerFiles: readonly string[]): string {
  return `${JSON.stringify([{ Config: configFile, RepoTags: tags, Layers: layerFiles }])}\n`;
}

const hex = (digest: string): string => digest.replace(/^sha256:/, "");

/** Writes layers to a scratch dir once per id, then images as docker-archives. */
export class ArchiveBuilder {
  private readonly layers = new Map<string, Written & { readonly file: string }>();

  constructor(
    private readonly scratchDir: string,
    private readonly epoch: number,
  ) {}

  private layer(spec: LayerSpec): Written & { readonly file: string } {
    const known = this.layers.get(spec.id);
    if (known !== undefined) return known;
    const file = join(this.scratchDir, `layer-${this.layers.size}.tar`);
    const written = { ...writeTar(file, spec.entries, this.epoch), file };
    this.layers.set(spec.id, written);
    return written;
  }

  /** Writes `spec` to `path` (atomically: a temp file renamed into place). */
  write(spec: ImageSpec, path: string): ImageResult {
    const layers = spec.layers.map((l) => this.layer(l));
    const diffIds = layers.map((l) => l.digest);
    const config = Buffer.from(imageConfig(spec, diffIds, this.epoch), "utf8");
    const id = `sha256:${createHash("sha256").update(config).digest("hex")}`;
    const layerFiles = diffIds.map((d) => `${hex(d)}/layer.tar`);
    const manifest = Buffer.from(archiveManifest(`${hex(id)}.json`, spec.tags, layerFiles), "utf8");
    const entries: TarEntry[] = [
      fileEntry(`${hex(id)}.json`, { bytes: config }),
      fileEntry("manifest.json", { bytes: manifest }),
      ...layers.map((l, i) => fileEntry(layerFiles[i] ?? "", { source: l.file })),
    ];
    const temp = `${path}.tmp`;
    let written: Written;
    try {
      written = writeTar(temp, entries, this.epoch);
      renameSync(temp, path);
    } catch (error) {
      rmSync(temp, { force: true });
      throw error;
    }
    return { name: spec.tags[0] ?? spec.key, tags: spec.tags, path, bytes: written.bytes, id, layers: diffIds };
  }
}
