/**
 * A deterministic tar writer (POSIX ustar, PAX records for long names): the same entries give the same bytes.
 * Entries are sorted, parents are added, every header carries one fixed mtime, numeric owners and no user names.
 */
import { createHash, type Hash } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";

/** Who owns an entry in the image. */
export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

export const ROOT: Owner = { uid: 0, gid: 0 };

/** File content: bytes, or a host file read when the entry is written. */
export type Content = { readonly bytes: Buffer } | { readonly source: string };

export type TarEntry =
  | { readonly kind: "dir"; readonly path: string; readonly mode: number; readonly owner: Owner }
  | {
      readonly kind: "file";
      readonly path: string;
      readonly mode: number;
      readonly owner: Owner;
      readonly content: Content;
    }
  | { readonly kind: "symlink"; readonly path: string; readonly target: string; readonly owner: Owner };

/** Thrown for an entry a tar cannot hold (bad path) or a host file that cannot be read. */
export class TarError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TarError";
  }
}

export function dirEntry(path: string, mode = 0o755, owner: Owner = ROOT): TarEntry {
  return { kind: "dir", path: normalizePath(path), mode, owner };
}

export function fileEntry(path: string, content: Content, mode = 0o644, owner: Owner = ROOT): TarEntry {
  return { kind: "file", path: normalizePath(path), mode, owner, content };
}

export function symlinkEntry(path: string, target: string, owner: Owner = ROOT): TarEntry {
  return { kind: "symlink", path: normalizePath(path), target, owner };
}

/** "/app/bin/" → "app/bin": relative, no trailing slash, no "." or ".." segments. */
export function normalizePath(path: string): string {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.length === 0 || parts.includes("..")) throw new TarError(`invalid path in image: ${JSON.stringify(path)}`);
  return parts.join("/");
}

/**
 * The entries a layer holds, in write order: later duplicates replace earlier ones, missing parent directories are
 * added (0755, root), and paths are sorted byte-wise so a directory always precedes its contents.
 */
export function layerEntries(entries: readonly TarEntry[]): TarEntry[] {
  const byPath = new Map<string, TarEntry>();
  for (const entry of entries) {
    const parts = entry.path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join("/");
      if (!byPath.has(parent)) byPath.set(parent, dirEntry(parent));
    }
    byPath.set(entry.path, entry);
  }
  return [...byPath.values()].sort((a, b) => compareBytes(a.path, b.path));
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

const BLOCK = 512;
const TYPE = { file: "0", symlink: "2", dir: "5", pax: "x" } as const;

interface Header {
  readonly name: string;
  readonly mode: number;
  readonly owner: Owner;
  readonly size: number;
  readonly mtime: number;
  readonly type: string;
  readonly linkname: string;
}

function writeString(block: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length > length) throw new TarError(`tar field too long (${bytes.length} > ${length}): ${value}`);
  bytes.copy(block, offset);
}

function writeOctal(block: Buffer, offset: number, length: number, value: number): void {
  const digits = value.toString(8).padStart(length - 1, "0");
  if (digits.length > length - 1) throw new TarError(`tar number too large: ${value}`);
  block.write(`${digits}\0`, offset, "ascii");
}

/** One 512-byte ustar header (names must already fit: see {@link headerBlocks}). */
export function ustarHeader(h: Header): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeString(block, 0, 100, h.name);
  writeOctal(block, 100, 8, h.mode);
  writeOctal(block, 108, 8, h.owner.uid);
  writeOctal(block, 116, 8, h.owner.gid);
  writeOctal(block, 124, 12, h.size);
  writeOctal(block, 136, 12, h.mtime);
  block.fill(" ", 148, 156);
  block.write(h.type, 156, "ascii");
  writeString(block, 157, 100, h.linkname);
  block.write("ustar\0" + "00", 257, "ascii");
  // uname/gname stay empty: numeric owners only, no host user names.
  writeOctal(block, 329, 8, 0);
  writeOctal(block, 337, 8, 0);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return block;
}

/** A PAX record "<len> <key>=<value>\n", whose length counts itself. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body, "utf8");
  let length = bodyLength + 1;
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength;
  return `${length}${body}`;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** The header blocks of an entry: a PAX header first when the name or link target does not fit ustar. */
export function headerBlocks(entry: TarEntry, size: number, mtime: number): Buffer[] {
  const name = entry.kind === "dir" ? `${entry.path}/` : entry.path;
  const linkname = entry.kind === "symlink" ? entry.target : "";
  const mode = entry.kind === "symlink" ? 0o777 : entry.mode;
  const long = (s: string, max: number): boolean => Buffer.byteLength(s, "utf8") > max;
  const records = [
    ...(long(name, 100) ? [paxRecord("path", name)] : []),
    ...(long(linkname, 100) ? [paxRecord("linkpath", linkname)] : []),
  ].join("");
  const blocks: Buffer[] = [];
  if (records !== "") {
    const pax = Buffer.from(records, "utf8");
    const paxName = `PaxHeaders/${name.slice(-80).replace(/^\/+/, "")}`;
    blocks.push(
      ustarHeader({ name: paxName, mode: 0o644, owner: ROOT, size: pax.length, mtime, type: TYPE.pax, linkname: "" }),
      pax,
      padding(pax.length),
    );
  }
  blocks.push(
    ustarHeader({
      name: long(name, 100) ? safeTruncate(name) : name,
      mode,
      owner: entry.owner,
      size,
      mtime,
      type: TYPE[entry.kind],
      linkname: long(linkname, 100) ? safeTruncate(linkname) : linkname,
    }),
  );
  return blocks;
}

/** The last ≤100 bytes of a long name that are whole UTF-8 characters (the PAX record carries the real one). */
function safeTruncate(value: string): string {
  let out = value;
  while (Buffer.byteLength(out, "utf8") > 100) out = out.slice(1);
  return out;
}

/** Bytes written and their sha256, as "sha256:<hex>". */
export interface Written {
  readonly digest: string;
  readonly bytes: number;
}

/** Streams a tar to a file descriptor while hashing it. */
export class TarWriter {
  private readonly hash: Hash = createHash("sha256");
  private bytes = 0;

  constructor(
    private readonly fd: number,
    private readonly mtime: number,
  ) {}

  add(entry: TarEntry): void {
    if (entry.kind !== "file") {
      for (const block of headerBlocks(entry, 0, this.mtime)) this.write(block);
      return;
    }
    if ("bytes" in entry.content) {
      for (const block of headerBlocks(entry, entry.content.bytes.length, this.mtime)) this.write(block);
      this.write(entry.content.bytes);
      this.write(padding(entry.content.bytes.length));
      return;
    }
    this.addHostFile(entry, entry.content.source);
  }

  private addHostFile(entry: TarEntry, source: string): void {
    let fd: number;
    try {
      fd = openSync(source, "r");
    } catch (error) {
      throw new TarError(`cannot read ${source} for ${entry.path}`, { cause: error });
    }
    try {
      const size = fstatSync(fd).size;
      for (const block of headerBlocks(entry, size, this.mtime)) this.write(block);
      const chunk = Buffer.alloc(Math.min(8 << 20, Math.max(size, 1)));
      let done = 0;
      while (done < size) {
        const n = readSync(fd, chunk, 0, Math.min(chunk.length, size - done), done);
        if (n === 0) throw new TarError(`${source} shrank while it was written (${done} of ${size} bytes)`);
        this.write(chunk.subarray(0, n));
        done += n;
      }
      this.write(padding(size));
    } finally {
      closeSync(fd);
    }
  }

  /** Two zero blocks end the archive. */
  finish(): Written {
    this.write(Buffer.alloc(BLOCK * 2));
    return { digest: `sha256:${this.hash.digest("hex")}`, bytes: this.bytes };
  }

  private write(buffer: Buffer): void {
    if (buffer.length === 0) return;
    let off = 0;
    while (off < buffer.length) off += writeSync(this.fd, buffer, off, buffer.length - off);
    this.hash.update(buffer);
    this.bytes += buffer.length;
  }
}

/** Writes the entries (through {@link layerEntries}) as a tar file; returns its digest and size. */
export function writeTar(path: string, entries: readonly TarEntry[], mtime: number): Written {
  const fd = openSync(path, "w");
  try {
    const writer = new TarWriter(fd, mtime);
    for (const entry of layerEntries(entries)) writer.add(entry);
    return writer.finish();
  } finally {
    closeSync(fd);
  }
}
