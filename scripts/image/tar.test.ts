import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readTar } from "./read-tar.js";
import { dirEntry, fileEntry, layerEntries, normalizePath, symlinkEntry, TarError, writeTar } from "./tar.js";

let dir = "";
afterEach(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
  dir = "";
});

const text = (s: string): { bytes: Buffer } => ({ bytes: Buffer.from(s, "utf8") });
const longName = `app/node_modules/${"deep/".repeat(30)}file.js`;
/** Fits neither ustar's name nor its prefix + name fields: only a PAX record can hold it. */
const paxName = `app/${"ü".repeat(60)}/${"n".repeat(120)}.js`;

function fixture(): Parameters<typeof writeTar>[1] {
  return [
    fileEntry("app/z.txt", text("z")),
    fileEntry("app/bin/run", text("#!/bin/sh\n"), 0o755),
    symlinkEntry("app/link", "z.txt"),
    dirEntry("tmp", 0o1777),
    fileEntry(longName, text("long")),
    fileEntry(paxName, text("pax")),
    symlinkEntry("app/long-link", `${"x/".repeat(60)}target`),
  ];
}

describe("tar", () => {
  it("adds missing parent directories and sorts so a directory precedes its contents", () => {
    const paths = layerEntries([
      fileEntry("b/c/d", text("")),
      fileEntry("a", text("")),
      fileEntry("b-x", text("")),
    ]).map((e) => e.path);
    expect(paths).toEqual(["a", "b", "b-x", "b/c", "b/c/d"]);
  });

  it("keeps the last of two entries with the same path", () => {
    const entries = layerEntries([fileEntry("a", text("1")), fileEntry("/a/", text("2"))]);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ content: { bytes: Buffer.from("2") } });
  });

  it("rejects paths that leave the image root", () => {
    expect(() => normalizePath("a/../../etc")).toThrow(TarError);
    expect(() => normalizePath("/")).toThrow(TarError);
  });

  it("writes the same bytes and digest twice for the same entries", async () => {
    dir = mkdtempSync(join(tmpdir(), "image-tar-"));
    const a = await writeTar(join(dir, "a.tar"), fixture(), 0);
    const b = await writeTar(join(dir, "b.tar"), [...fixture()].reverse(), 0);
    expect(b).toEqual(a);
    expect(readFileSync(join(dir, "a.tar")).equals(readFileSync(join(dir, "b.tar")))).toBe(true);
    expect(await writeTar(join(dir, "c.tar"), fixture(), 1)).not.toEqual(a);
  });

  it("returns the sha256 and size of the file it wrote, with a host file larger than one read", async () => {
    dir = mkdtempSync(join(tmpdir(), "image-tar-"));
    const big = Buffer.alloc((3 << 20) + 123, 7);
    writeFileSync(join(dir, "big.bin"), big);
    const written = await writeTar(join(dir, "t.tar"), [fileEntry("big.bin", { source: join(dir, "big.bin") })], 0);
    const tar = readFileSync(join(dir, "t.tar"));
    expect(written).toEqual({ digest: `sha256:${createHash("sha256").update(tar).digest("hex")}`, bytes: tar.length });
    const [member] = await readTar(tar);
    expect(member?.data.equals(big)).toBe(true);
  });

  it("rejects with a TarError when a host file cannot be read", async () => {
    dir = mkdtempSync(join(tmpdir(), "image-tar-"));
    const entries = [fileEntry("a", text("a")), fileEntry("b", { source: join(dir, "missing") })];
    await expect(writeTar(join(dir, "t.tar"), entries, 0)).rejects.toThrow(TarError);
  });

  it("rejects when the tar file cannot be written, and stops reading the entries", async () => {
    dir = mkdtempSync(join(tmpdir(), "image-tar-"));
    writeFileSync(join(dir, "big.bin"), Buffer.alloc(4 << 20));
    const entries = [fileEntry("big.bin", { source: join(dir, "big.bin") }), fileEntry("z", text("z"))];
    await expect(writeTar(join(dir, "no-such-dir", "t.tar"), entries, 0)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("rejects (does not crash) when the disk fills while a host file is streamed in", async () => {
    dir = mkdtempSync(join(tmpdir(), "image-tar-"));
    writeFileSync(join(dir, "big.bin"), Buffer.alloc(4 << 20));
    const entries = [fileEntry("big.bin", { source: join(dir, "big.bin") }), fileEntry("z", text("z"))];
    // /dev/full fails every write with ENOSPC, after the file opened: the entry in flight is destroyed mid-stream.
    await expect(writeTar("/dev/full", entries, 0)).rejects.toMatchObject({ code: "ENOSPC" });
  });

  it("rejects owner ids that do not fit a tar header", async () => {
    dir = mkdtempSync(join(tmpdir(), "image-tar-"));
    const entries = [fileEntry("a", text("a"), 0o644, { uid: 1 << 20, gid: 0 })];
    await expect(writeTar(join(dir, "t.tar"), entries, 0)).rejects.toThrow(TarError);
  });

  it("writes headers a tar reader accepts: long names via PAX, fixed mtime, numeric owners, no user names", async () => {
    dir = mkdtempSync(join(tmpdir(), "image-tar-"));
    const host = join(dir, "host.txt");
    writeFileSync(host, "from the host");
    await writeTar(join(dir, "t.tar"), [...fixture(), fileEntry("app/host.txt", { source: host })], 1_700_000_000);
    const members = await readTar(readFileSync(join(dir, "t.tar")));
    const byName = new Map(members.map((m) => [m.header.name, m]));
    expect(byName.get(longName)?.data.toString()).toBe("long");
    expect(byName.get(paxName)?.data.toString()).toBe("pax");
    expect(byName.get("app/long-link")?.header.linkname).toBe(`${"x/".repeat(60)}target`);
    expect(byName.get("app/host.txt")?.data.toString()).toBe("from the host");
    expect(byName.get("app/bin/run")?.header.mode).toBe(0o755);
    expect(byName.get("tmp/")?.header).toMatchObject({ type: "directory", mode: 0o1777 });
    expect(byName.get("app/link")?.header).toMatchObject({ type: "symlink", linkname: "z.txt" });
    for (const m of members) {
      expect(m.header).toMatchObject({ uid: 0, gid: 0, uname: "", gname: "" });
      expect(m.header.mtime.getTime()).toBe(1_700_000_000_000);
    }
  });
});
