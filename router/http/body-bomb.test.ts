/** Issue 15 #6: a compressed body stops being decompressed once it is over the limit. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Transform } from "node:stream";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { readJsonBody } from "./body.js";

/** Every decompressor body.ts creates, with the bytes it produced. */
const decoders: { stream: Transform; produced: number }[] = [];

vi.mock("node:zlib", async (importOriginal) => {
  const zlib = await importOriginal<typeof import("node:zlib")>();
  const tracked =
    <T extends Transform>(create: () => T) =>
    (): T => {
      const stream = create();
      const entry = { stream, produced: 0 };
      stream.on("data", (chunk: Buffer) => (entry.produced += chunk.length));
      decoders.push(entry);
      return stream;
    };
  return {
    ...zlib,
    createGunzip: tracked(() => zlib.createGunzip()),
    createBrotliDecompress: tracked(() => zlib.createBrotliDecompress()),
  };
});

const LIMIT = 1000;
const BOMB_BYTES = 64e6;
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    readJsonBody(req, LIMIT).then(
      () => res.end("accepted"),
      () => {
        res.statusCode = 413;
        res.end("refused");
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(() => {
  server.close();
});

async function closed(stream: Transform): Promise<void> {
  if (stream.destroyed) return;
  await new Promise((resolve) => stream.once("close", resolve));
}

describe("readJsonBody with a decompression bomb", () => {
  for (const [encoding, bomb] of [
    ["br", brotliCompressSync(Buffer.alloc(BOMB_BYTES), { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } })],
    ["gzip", gzipSync(Buffer.alloc(BOMB_BYTES))],
  ] as const) {
    it(`stops decompressing a ${encoding} body once it is over the limit`, async () => {
      decoders.length = 0;
      const res = await fetch(url, { method: "POST", body: bomb, headers: { "content-encoding": encoding } });
      expect(res.status).toBe(413);
      const decoder = decoders[0]!;
      await closed(decoder.stream);
      // Before the fix it went on to inflate all 64 MB after answering.
      expect(decoder.produced).toBeLessThan(1024 * 1024);
    });
  }
});
