/**
 * Deterministic tars: the same entries give the same bytes. This module decides what goes in (entries sorted,
 * parents added, one fixed mtime, numeric owners, no user names); tar-stream's pack() encodes it (ustar headers, PAX
 * records for names that do not fit, padding, the end blocks). Host files are streamed, and every byte is hashed and
 * counted on its way to the file.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { pack, type Header, type Pack } from "tar-stream";

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

/** tar-stream writes owner ids as 6 octal digits and silently clamps bigger ones to 777777. */
const MAX_ID = 0o777777;

/** What tar-stream's pack() takes for one entry. */
type HeaderArgument = Partial<Header> & Pick<Header, "name">;
type Sink = ReturnType<Pack["entry"]>;

/** The header tar-stream encodes for an entry (directory names end in "/", symlinks are 0777). */
export function tarHeader(entry: TarEntry, size: number, mtime: Date): HeaderArgument {
  const { uid, gid } = entry.owner;
  if (uid > MAX_ID || gid > MAX_ID)
    throw new TarError(`owner ${uid}:${gid} of ${entry.path} does not fit a tar header`);
  const common = { uid, gid, mtime, uname: "", gname: "" };
  switch (entry.kind) {
    case "dir":
      return { ...common, name: `${entry.path}/`, type: "directory", mode: entry.mode };
    case "symlink":
      return { ...common, name: entry.path, type: "symlink", mode: 0o777, linkname: entry.target };
    case "file":
      return { ...common, name: entry.path, type: "file", mode: entry.mode, size };
  }
}

/** Bytes written and their sha256, as "sha256:<hex>". */
export interface Written {
  readonly digest: string;
  readonly bytes: number;
}

/** Starts one entry; `done` settles when tar-stream has taken all of it, or rejects when the entry fails. */
function startEntry(tar: Pack, headers: HeaderArgument, body?: Buffer): { sink: Sink; done: Promise<void> } {
  let settle: (error?: Error | null) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  // Handled here so a failure while the caller awaits something else is not an unhandled rejection; the caller
  // still sees it when it awaits `done`.
  done.catch(() => undefined);
  const callback = (error?: Error | null): void => settle(error);
  const sink = body === undefined ? tar.entry(headers, callback) : tar.entry(headers, body, callback);
  // When the file side fails (a full disk), the pack destroys the entry and streamx emits its error here, not
  // through the callback: without a listener it would crash the process instead of failing the build.
  sink.on("error", callback);
  return { sink, done };
}

function drained(sink: Sink): Promise<void> {
  return new Promise((resolve) => sink.once("drain", () => resolve()));
}

async function openSource(entry: TarEntry, source: string): Promise<FileHandle> {
  try {
    return await open(source, "r");
  } catch (error) {
    throw new TarError(`cannot read ${source} for ${entry.path}`, { cause: error });
  }
}

/** Streams a host file into the tar: its size from the open file, then exactly that many bytes. */
async function addHostFile(tar: Pack, entry: TarEntry, source: string, mtime: Date): Promise<void> {
  const handle = await openSource(entry, source);
  try {
    const { size } = await handle.stat();
    const { sink, done } = startEntry(tar, tarHeader(entry, size, mtime));
    if (size > 0) {
      const chunks = handle.createReadStream({ start: 0, end: size - 1, highWaterMark: 1 << 20, autoClose: false });
      for await (const chunk of chunks as AsyncIterable<Buffer>) {
        if (!sink.write(chunk)) await Promise.race([drained(sink), done]);
      }
    }
    sink.end(null);
    await done.catch((error: unknown) => {
      throw new TarError(`cannot write ${source} as ${entry.path} (did it change?)`, { cause: error });
    });
  } finally {
    await handle.close();
  }
}

async function addEntry(tar: Pack, entry: TarEntry, mtime: Date): Promise<void> {
  if (entry.kind === "file" && "source" in entry.content) return addHostFile(tar, entry, entry.content.source, mtime);
  const body = entry.kind === "file" && "bytes" in entry.content ? entry.content.bytes : undefined;
  await startEntry(tar, tarHeader(entry, body?.length ?? 0, mtime), body).done;
}

/** Hashes and counts the bytes that pass through. */
class Measure {
  private readonly hash = createHash("sha256");
  private bytes = 0;

  async *through(source: AsyncIterable<unknown>): AsyncGenerator<Uint8Array> {
    for await (const chunk of source) {
      if (!(chunk instanceof Uint8Array)) throw new TarError("tar-stream produced a chunk that is not bytes");
      this.hash.update(chunk);
      this.bytes += chunk.byteLength;
      yield chunk;
    }
  }

  written(): Written {
    return { digest: `sha256:${this.hash.digest("hex")}`, bytes: this.bytes };
  }
}

async function addAll(tar: Pack, entries: readonly TarEntry[], mtime: number): Promise<void> {
  const date = new Date(mtime * 1000);
  for (const entry of layerEntries(entries)) await addEntry(tar, entry, date);
  tar.finalize();
}

/**
 * Writes the entries (through {@link layerEntries}) as a tar file, `mtime` seconds on every header. Returns once
 * both sides are done; the first failure (of the entries or of the file) stops the other side and is thrown.
 */
export async function writeTar(path: string, entries: readonly TarEntry[], mtime: number): Promise<Written> {
  const tar = pack();
  const measure = new Measure();
  let failure: { readonly error: unknown } | undefined;
  const fail = (error: unknown): void => {
    failure ??= { error };
    tar.destroy(error instanceof Error ? error : new TarError(`cannot write ${path}`, { cause: error }));
  };
  await Promise.all([
    addAll(tar, entries, mtime).catch(fail),
    pipeline(measure.through(tar), createWriteStream(path)).catch(fail),
  ]);
  if (failure !== undefined) throw failure.error;
  return measure.written();
}
