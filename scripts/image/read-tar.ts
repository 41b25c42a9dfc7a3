/** Reads a tar back (tests and checks only): every member with its header and bytes, in archive order. */
import { Readable } from "node:stream";
import { extract, type Header } from "tar-stream";

export interface TarMember {
  readonly header: Header;
  readonly data: Buffer;
}

export async function readTar(tar: Buffer): Promise<TarMember[]> {
  const members: TarMember[] = [];
  const ex = extract();
  const done = (async () => {
    for await (const entry of ex) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(Buffer.from(chunk as Uint8Array));
      members.push({ header: entry.header, data: Buffer.concat(chunks) });
    }
  })();
  Readable.from([tar]).pipe(ex);
  await done;
  return members;
}
