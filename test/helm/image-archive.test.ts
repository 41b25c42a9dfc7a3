/**
 * The Docker-less image (`npm run image`, scripts/image/) holds what the Dockerfile's production stage describes:
 * builds localhost/routewise into a temp dir and compares the archive's config and files with the Dockerfile as
 * the builder's parser reads it, and with the repository's files.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ImageResult } from "../../scripts/image/archive.js";
import { buildImages } from "../../scripts/image/build.js";
import { productionStage, type ProductionStage } from "../../scripts/image/dockerfile.js";
import { readTar, type TarMember } from "../../scripts/image/read-tar.js";
import { repoRoot } from "../harness/tools.js";

interface DockerConfig {
  config: {
    User?: string;
    WorkingDir: string;
    Entrypoint: string[];
    Cmd: string[];
    Env: string[];
    ExposedPorts: Record<string, object>;
  };
  history: { created_by: string }[];
  rootfs: { diff_ids: string[] };
}

const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  version: string;
  dependencies: Record<string, string>;
};
const stage: ProductionStage = productionStage(readFileSync(join(repoRoot, "Dockerfile"), "utf8"));
let out = "";
let result: ImageResult;
let manifest: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
let config: DockerConfig;
const files = new Map<string, TarMember["header"]>();

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), "routewise-image-archive-"));
  [result] = (await buildImages({ repoRoot, outDir: out, only: ["routewise"], epoch: 0 })) as [ImageResult];
  const outer = new Map((await readTar(readFileSync(result.path))).map((m) => [m.header.name, m.data]));
  manifest = JSON.parse(outer.get("manifest.json")?.toString() ?? "[]") as typeof manifest;
  config = JSON.parse(outer.get(manifest[0]?.Config ?? "")?.toString() ?? "{}") as DockerConfig;
  for (const layer of manifest[0]?.Layers ?? []) {
    for (const m of await readTar(outer.get(layer) ?? Buffer.alloc(0)))
      files.set(m.header.name.replace(/\/$/, ""), m.header);
  }
}, 180_000);

afterAll(() => {
  if (out !== "") rmSync(out, { recursive: true, force: true });
});

/** Host files under a repo dir, relative to it. */
function hostFiles(dir: string, rel = ""): string[] {
  return readdirSync(join(dir, rel)).flatMap((name) => {
    const r = rel === "" ? name : `${rel}/${name}`;
    return statSync(join(dir, r)).isDirectory() ? hostFiles(dir, r) : [r];
  });
}

describe("npm run image (routewise)", () => {
  it("names the image localhost/routewise:<package.json version> and prints its config digest as the id", () => {
    expect(manifest).toHaveLength(1);
    expect(manifest[0]?.RepoTags).toEqual([`localhost/routewise:${pkg.version}`]);
    expect(manifest[0]?.Config).toBe(`${result.id.replace("sha256:", "")}.json`);
    expect(config.rootfs.diff_ids).toEqual(result.layers);
  });

  it("runs what the Dockerfile's production stage runs", () => {
    expect(config.config).toMatchObject({
      User: stage.user ?? undefined,
      WorkingDir: stage.workdir,
      Entrypoint: stage.entrypoint,
      Cmd: stage.cmd,
    });
    expect(Object.keys(config.config.ExposedPorts)).toEqual(stage.exposedPorts);
    for (const [k, v] of stage.env) expect(config.config.Env).toContain(`${k}=${v}`);
  });

  it("has one layer per file-producing Dockerfile step, above the base and node layers", () => {
    expect(config.history.slice(2).map((h) => h.created_by)).toEqual(stage.steps.map((s) => s.text));
  });

  it("holds every file the production stage COPYs from the repository, at its destination", () => {
    for (const step of stage.steps) {
      if (step.kind !== "copy") continue;
      for (const source of step.copy.sources) {
        const host = join(repoRoot, source);
        const wanted = statSync(host).isDirectory()
          ? hostFiles(host).map((f) => posix.join(step.destPath, f))
          : [step.destPath.endsWith("/") ? posix.join(step.destPath, posix.basename(source)) : step.destPath];
        for (const path of wanted) expect(files.has(path.replace(/^\//, "")), path).toBe(true);
      }
    }
  });

  it("holds the compiled entrypoint, the runtime dependencies, node and its loader", () => {
    for (const path of [
      "app/dist/cli/main.js",
      "app/dist/router/main.js",
      "usr/local/bin/node",
      "lib64/ld-linux-x86-64.so.2",
    ])
      expect(files.has(path), path).toBe(true);
    for (const name of Object.keys(pkg.dependencies))
      expect(files.has(`app/node_modules/${name}/package.json`), name).toBe(true);
    expect(
      [...files.keys()].filter((p) => p.includes("/node_modules/typescript/") || p.includes("/napi-v6/darwin")),
    ).toEqual([]);
  });

  it("is root-owned with a fixed mtime (only the nonroot home is owned by 65532)", () => {
    const owned = [...files].filter(([, h]) => h.uid !== 0 || h.gid !== 0).map(([p]) => p);
    expect(owned).toEqual(["home/nonroot"]);
    expect([...files.values()].filter((h) => h.mtime.getTime() !== 0)).toEqual([]);
  });
});
