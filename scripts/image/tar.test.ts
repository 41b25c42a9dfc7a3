import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readTar } from "./read-tar.js";
import {
  dirEntry,
  fileEntry,
  layerEntries,
  normalizePath,
  paxRecord,
  symlinkEntry,
  TarError,
  writeTar,
} from "./tar.js";

let dir = "";
afterEach(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
  dir = "";
});

const text = (s: string): { bytes: Buffer } => ({ bytes: Buffer.from(s, "utf8") });
const longName = `app/node_modules/${"deep/".repeat(30)}file.js`;

function fixture(): Parameters<typeof writeTar>[1] {
  return [
    fileEntry("app/z.txt", text("z")),
    fileEntry("app/bin/run", text("#!/bin/sh\n"), 0o755),
    symlinkEntry("app/link", "z.txt"),
    dirEntry("tmp", 0o1777),
    fileEntry(longName, text("long")),
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

  it("writes a PAX record whose length counts its own digits", () => {
    const record = paxRecord("path", "x".repeat(90));
    expect(Buffer.byteLength(record)).toBe(Number(record.split(" ")[0]));
  });

  it("writes the same bytes and digest twice for the same entries", () => {
    dir = mkdtempSync(join(tmpdir(), "image-tar-"));
    const a = writeTar(join(dir, "a.tar"), fixture(), 0);
    const b = writeTar(join(dir, "b.tar"), [...fixture()].reverse(), 0);
    expect(b).toEqual(a);
    expect(readFileSync(join(dir, "a.tar")).equals(readFileSync(join(dir, "b.tar")))).toBe(true);
    expect(writeTar(join(dir, "c.tar"), fixture(), 1)).not.toEqual(a);
  });

  it("writes headers a tar reader accepts: long names via PAX, fixed mtime, numeric owners, no user names", async () => {
    dir = mkdtempSync(join(tmpdir(), "image-tar-"));
    const host = join(dir, "host.txt");
    writeFileSync(host, "from the host");
    writeTar(join(dir, "t.tar"), [...fixture(), fileEntry("app/host.txt", { source: host })], 1_700_000_000);
    const members = await readTar(readFileSync(join(dir, "t.tar")));
    const byName = new Map(members.map((m) => [m.header.name, m]));
    expect(byName.get(longName)?.data.toString()).toBe("long");
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
