import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ImageSpec } from "./archive.js";
import { productionPackages, sourceDateEpoch } from "./build.js";
import { DockerfileError, productionStage } from "./dockerfile.js";
import {
  baseLayer,
  keepForPlatform,
  nodeMajor,
  pauseImage,
  redisImage,
  redisVersion,
  routewiseImage,
} from "./images.js";
import { pauseKey } from "./pause.js";
import { parseLdd, RootfsError } from "./rootfs.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const dockerfile = readFileSync(join(repoRoot, "Dockerfile"), "utf8");
let dist = "";
let image: ImageSpec;

const base = baseLayer(["/lib/x86_64-linux-gnu/libc.so.6"], null);
const node = { id: "node", createdBy: "node", entries: [] };

beforeAll(() => {
  dist = mkdtempSync(join(tmpdir(), "image-dist-"));
  mkdirSync(join(dist, "cli"));
  writeFileSync(join(dist, "cli", "main.js"), "export {};\n");
  image = routewiseImage(productionStage(dockerfile), {
    repoRoot,
    version: "9.9.9",
    distDir: dist,
    packages: ["node_modules/yaml", "node_modules/onnxruntime-node"],
    base,
    node,
    nativeLibraries: (files) => (files.length > 0 ? ["/lib/x86_64-linux-gnu/librt.so.1"] : []),
    platform: "linux",
    arch: "x64",
  });
});
afterAll(() => rmSync(dist, { recursive: true, force: true }));

const paths = (spec: ImageSpec): string[] => spec.layers.flatMap((l) => l.entries.map((e) => e.path));

describe("routewiseImage (the builder's view of the Dockerfile is what the image holds)", () => {
  it("runs what the Dockerfile's production stage runs: user, workdir, env, ports, entrypoint, cmd", () => {
    const stage = productionStage(dockerfile);
    expect(image.tags).toEqual(["localhost/routewise:9.9.9"]);
    expect(image.config).toMatchObject({
      user: stage.user,
      workingDir: stage.workdir,
      entrypoint: stage.entrypoint,
      cmd: stage.cmd,
      exposedPorts: stage.exposedPorts,
    });
    for (const [k, v] of stage.env) expect(image.config.env).toContain(`${k}=${v}`);
  });

  it("has one layer per file-producing step, named by the Dockerfile line, on the base and node layers", () => {
    const stage = productionStage(dockerfile);
    expect(image.layers.slice(0, 2)).toEqual([base, node]);
    expect(image.layers.slice(2).map((l) => l.createdBy)).toEqual(stage.steps.map((s) => s.text));
  });

  it("puts every COPY source at its destination under the WORKDIR", () => {
    const all = paths(image);
    for (const p of [
      "app/package.json",
      "app/package-lock.json",
      "app/.npmrc",
      "app/bin/routewise.js",
      "app/dist/cli/main.js",
    ])
      expect(all).toContain(p);
    expect(all.some((p) => p.startsWith("app/crds/") && p.endsWith(".yaml"))).toBe(true);
    expect(all.some((p) => p.startsWith("app/router/classify/models/default/"))).toBe(true);
  });

  it("copies the production dependency tree without other platforms' addon binaries, plus the libraries they load", () => {
    const all = paths(image);
    expect(all).toContain("app/node_modules/yaml/package.json");
    expect(all).toContain("app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node");
    expect(all.filter((p) => /napi-v6\/(darwin|win32|linux\/arm64)/.test(p))).toEqual([]);
    expect(all).toContain("lib/x86_64-linux-gnu/librt.so.1");
  });

  it("refuses a Dockerfile whose base runs another Node major than the host", () => {
    const other = dockerfile.replace(/ARG NODE_IMAGE=node:\d+/, "ARG NODE_IMAGE=node:4");
    expect(() => routewiseImage(productionStage(other), { ...inputsOf() })).toThrow(DockerfileError);
  });
});

function inputsOf(): Parameters<typeof routewiseImage>[1] {
  return { repoRoot, version: "1", distDir: dist, packages: [], base, node, nativeLibraries: () => [] };
}

describe("redisImage and pauseImage", () => {
  it("names redis by its major and full version and runs it as nonroot in /data without protected mode", () => {
    const redis = redisImage(base, "/usr/bin/redis-server", ["/lib/x86_64-linux-gnu/libc.so.6"], "7.0.15");
    expect(redis.tags).toEqual(["localhost/redis:7", "localhost/redis:7.0.15"]);
    expect(redis.config).toMatchObject({ user: "65532:65532", workingDir: "/data", exposedPorts: ["6379/tcp"] });
    expect(redis.config.entrypoint[0]).toBe("redis-server");
    expect(redis.layers[0]).toBe(base);
    expect(paths({ ...redis, layers: redis.layers.slice(1) })).not.toContain("lib/x86_64-linux-gnu/libc.so.6");
  });

  it("builds the pause image from one binary", () => {
    const pause = pauseImage("/nonexistent/pause");
    expect(pause.tags).toEqual(["localhost/k8s-pause:1"]);
    expect(paths(pause)).toEqual(["pause"]);
  });
});

describe("host facts", () => {
  it("reads library paths and the loader from ldd output", () => {
    const out =
      "\tlinux-vdso.so.1 (0x1)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x2)\n\t/lib64/ld-linux-x86-64.so.2 (0x3)\n";
    expect(parseLdd(out)).toEqual(["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]);
    expect(parseLdd("\tnot a dynamic executable\n\tstatically linked\n")).toEqual([]);
    expect(() => parseLdd("\tlibfoo.so => not found\n")).toThrow(RootfsError);
  });

  it("keeps only this platform's prebuilt addon binaries", () => {
    const keep = keepForPlatform("linux", "x64");
    expect(["bin/napi-v6/linux", "bin/napi-v6/linux/x64/a.node", "lib/index.js"].every((p) => keep(p, false))).toBe(
      true,
    );
    expect(
      ["bin/napi-v6/darwin", "bin/napi-v6/linux/arm64", "bin/napi-v6/win32/x64/a.dll"].some((p) => keep(p, false)),
    ).toBe(false);
  });

  it("lists production packages relative to the repository, without the root", () => {
    expect(productionPackages("/r", "/r\n/r/node_modules/b\n/r/node_modules/a/node_modules/c\n")).toEqual([
      "node_modules/a/node_modules/c",
      "node_modules/b",
    ]);
  });

  it("reads versions: node major of the base image, redis version, SOURCE_DATE_EPOCH", () => {
    expect(nodeMajor("node:20.19.5-bookworm-slim")).toBe(20);
    expect(nodeMajor("docker.io/library/node:22")).toBe(22);
    expect(nodeMajor("debian:12")).toBeNull();
    expect(redisVersion("Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0")).toBe("7.0.15");
    expect(sourceDateEpoch({})).toBe(0);
    expect(sourceDateEpoch({ SOURCE_DATE_EPOCH: "1700000000" })).toBe(1_700_000_000);
    expect(() => sourceDateEpoch({ SOURCE_DATE_EPOCH: "yesterday" })).toThrow(/SOURCE_DATE_EPOCH/);
  });

  it("keys the pause cache by source and Go version", () => {
    const src = [Buffer.from("package main")];
    expect(pauseKey(src, "go1.26.8")).toBe(pauseKey(src, "go1.26.8"));
    expect(pauseKey(src, "go1.26.9")).not.toBe(pauseKey(src, "go1.26.8"));
    expect(pauseKey([Buffer.from("package main\n")], "go1.26.8")).not.toBe(pauseKey(src, "go1.26.8"));
  });
});
