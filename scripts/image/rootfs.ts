/**
 * Host files as image entries: a binary's shared libraries (from `ldd`), directory trees, and the small /etc a
 * distroless-style base needs. Modes are normalised (0755 if the owner may execute, else 0644) so the host's umask
 * does not leak into the image.
 */
import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { join, posix } from "node:path";
import { CHILD_LIMITS } from "./progress.js";
import { dirEntry, fileEntry, symlinkEntry, type Owner, type TarEntry } from "./tar.js";

/** Thrown when a host file the image needs is missing or unreadable. */
export class RootfsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RootfsError";
  }
}

/** The non-root user every image runs as (the chart's securityContext uses it too). */
export const NONROOT: Owner = { uid: 65532, gid: 65532 };

/** Absolute paths of the libraries in `ldd` output, the dynamic loader included; throws on "not found". */
export function parseLdd(output: string): string[] {
  const libs: string[] = [];
  for (const raw of output.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("linux-vdso") || line.includes("statically linked")) continue;
    if (/=>\s*not found/.test(line)) throw new RootfsError(`ldd: missing library: ${line}`);
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^(\/\S+)\s/.exec(line);
    if (m?.[1] !== undefined) libs.push(m[1]);
  }
  return [...new Set(libs)].sort();
}

/** The shared libraries a host ELF file loads (`ldd`), as absolute host paths. */
export function sharedLibraries(binary: string): string[] {
  try {
    return parseLdd(execFileSync("ldd", [binary], { encoding: "utf8", ...CHILD_LIMITS }));
  } catch (error) {
    throw new RootfsError(`ldd ${binary} failed`, { cause: error });
  }
}

/** 0755 when the owner may execute (or for directories), 0644 otherwise. */
export function normalMode(hostMode: number, isDir = false): number {
  return isDir || (hostMode & 0o100) !== 0 ? 0o755 : 0o644;
}

/** A host file at `imagePath`, symlinks resolved (the image gets the real content at the path asked for). */
export function hostFile(imagePath: string, hostPath: string): TarEntry {
  let real: string;
  try {
    real = realpathSync(hostPath);
  } catch (error) {
    throw new RootfsError(`${hostPath} is missing on this host`, { cause: error });
  }
  return fileEntry(imagePath, { source: real }, normalMode(statSync(real).mode));
}

/** Libraries at the paths ldd reports (the loader at /lib64/ld-linux-x86-64.so.2, as PT_INTERP names it). */
export function libraryEntries(libs: readonly string[]): TarEntry[] {
  return libs.map((lib) => hostFile(lib, lib));
}

/** Decides what a tree walk keeps, by the path relative to the walked root ("a/b.js"). */
export type Keep = (relative: string, isDir: boolean) => boolean;

/** Every file, directory and symlink under `hostDir`, placed under `imageDir`, sorted. */
export function treeEntries(hostDir: string, imageDir: string, keep: Keep = () => true): TarEntry[] {
  const out: TarEntry[] = [];
  const walk = (relative: string): void => {
    const names = readdirSync(join(hostDir, relative)).sort();
    for (const name of names) {
      const rel = relative === "" ? name : `${relative}/${name}`;
      const host = join(hostDir, rel);
      const stat = lstatSync(host);
      const target = posix.join(imageDir, rel);
      if (!keep(rel, stat.isDirectory())) continue;
      if (stat.isSymbolicLink()) out.push(symlinkEntry(target, readlinkSync(host)));
      else if (stat.isDirectory()) {
        out.push(dirEntry(target));
        walk(rel);
      } else if (stat.isFile()) out.push(fileEntry(target, { source: host }, normalMode(stat.mode)));
      else throw new RootfsError(`${host} is neither a file, a directory nor a symlink`);
    }
  };
  walk("");
  return out;
}

export const PASSWD =
  "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n";
export const GROUP = "root:x:0:\nnonroot:x:65532:\n";
export const NSSWITCH =
  "passwd: files\ngroup: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n";
export const CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

/** The shared base: /etc (users root and nonroot, nsswitch, CA bundle if the host has one), /tmp, homes, libs. */
export function baseEntries(
  libs: readonly string[],
  caBundle: string | null = existsSync(CA_BUNDLE) ? CA_BUNDLE : null,
): TarEntry[] {
  const text = (s: string): { bytes: Buffer } => ({ bytes: Buffer.from(s, "utf8") });
  return [
    fileEntry("etc/passwd", text(PASSWD)),
    fileEntry("etc/group", text(GROUP)),
    fileEntry("etc/nsswitch.conf", text(NSSWITCH)),
    ...(caBundle === null ? [] : [hostFile(caBundle, caBundle)]),
    dirEntry("tmp", 0o1777),
    dirEntry("root", 0o700),
    dirEntry("home/nonroot", 0o755, NONROOT),
    ...libraryEntries(libs),
  ];
}
