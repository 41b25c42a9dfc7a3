import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ArchiveBuilder, isoTime, type ImageSpec } from "./archive.js";
import { readTar } from "./read-tar.js";
import { dirEntry, fileEntry } from "./tar.js";

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});
const scratch = (): string => {
  const d = mkdtempSync(join(tmpdir(), "image-archive-"));
  dirs.push(d);
  return d;
};

const base = {
  id: "base",
  createdBy: "base",
  entries: [dirEntry("tmp", 0o1777), fileEntry("etc/passwd", { bytes: Buffer.from("root:x:0:0::/:\n") })],
};
const spec = (key: string, extra: string): ImageSpec => ({
  key,
  tags: [`localhost/${key}:1`],
  config: {
    user: "65532:65532",
    env: ["PATH=/bin"],
    entrypoint: ["/app"],
    cmd: ["--help"],
    workingDir: "/",
    exposedPorts: ["80/tcp"],
  },
  layers: [
    base,
    { id: key, createdBy: `COPY ${key}`, entries: [fileEntry("app", { bytes: Buffer.from(extra) }, 0o755)] },
  ],
});

describe("ArchiveBuilder", () => {
  it("writes identical archives (same digests, same bytes) from the same inputs", () => {
    const [a, b] = [scratch(), scratch()];
    const first = new ArchiveBuilder(a, 0).write(spec("x", "one"), join(a, "x.tar"));
    const second = new ArchiveBuilder(b, 0).write(spec("x", "one"), join(b, "x.tar"));
    expect(second).toEqual({ ...first, path: join(b, "x.tar") });
    expect(readFileSync(join(a, "x.tar")).equals(readFileSync(join(b, "x.tar")))).toBe(true);
  });

  it("writes the docker save layout: manifest.json with RepoTags, <id>.json config, <diff-id>/layer.tar", async () => {
    const dir = scratch();
    const result = new ArchiveBuilder(dir, 86_400).write(spec("x", "one"), join(dir, "x.tar"));
    const members = new Map((await readTar(readFileSync(join(dir, "x.tar")))).map((m) => [m.header.name, m.data]));
    const id = result.id.replace("sha256:", "");
    const manifest = JSON.parse(members.get("manifest.json")?.toString() ?? "") as unknown;
    expect(manifest).toEqual([
      {
        Config: `${id}.json`,
        RepoTags: ["localhost/x:1"],
        Layers: result.layers.map((l) => `${l.slice(7)}/layer.tar`),
      },
    ]);
    const config = JSON.parse(members.get(`${id}.json`)?.toString() ?? "") as Record<string, unknown>;
    expect(config).toMatchObject({
      os: "linux",
      created: isoTime(86_400),
      config: { User: "65532:65532", Entrypoint: ["/app"], Cmd: ["--help"], ExposedPorts: { "80/tcp": {} } },
      rootfs: { type: "layers", diff_ids: result.layers },
    });
    expect(result.bytes).toBe(readFileSync(join(dir, "x.tar")).length);
  });

  it("gives two images the same digest for a layer they share", () => {
    const dir = scratch();
    const builder = new ArchiveBuilder(dir, 0);
    const x = builder.write(spec("x", "one"), join(dir, "x.tar"));
    const y = builder.write(spec("y", "two"), join(dir, "y.tar"));
    expect(y.layers[0]).toBe(x.layers[0]);
    expect(y.layers[1]).not.toBe(x.layers[1]);
  });
});
