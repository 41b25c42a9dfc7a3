import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readJsonBody } from "./body.js";
import { HttpError } from "../openai/errors.js";

const LIMIT = 1000;
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    readJsonBody(req, LIMIT).then(
      (body) => {
        res.end(JSON.stringify({ ok: true, body }));
      },
      (err: unknown) => {
        res.statusCode = err instanceof HttpError ? err.status : 500;
        res.end(JSON.stringify({ ok: false, code: err instanceof HttpError ? err.code : String(err) }));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(() => {
  server.close();
});

async function post(body: string | Uint8Array, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: "POST", body, headers });
  return { status: res.status, json: (await res.json()) as { ok: boolean; body?: unknown; code?: string } };
}

describe("readJsonBody", () => {
  it("parses JSON whatever the content type, and an empty body as {}", async () => {
    expect(await post('{"a":1}', { "content-type": "text/plain" })).toEqual({
      status: 200,
      json: { ok: true, body: { a: 1 } },
    });
    expect((await post("")).json.body).toEqual({});
  });

  it("decodes gzip and br bodies and applies the limit to the decoded size", async () => {
    expect((await post(gzipSync('{"z":"gzip"}'), { "content-encoding": "gzip" })).json.body).toEqual({ z: "gzip" });
    expect((await post(brotliCompressSync('{"z":"br"}'), { "content-encoding": "br" })).json.body).toEqual({ z: "br" });
    const bomb = gzipSync(JSON.stringify({ x: "a".repeat(5000) }));
    expect(bomb.length).toBeLessThan(LIMIT);
    expect(await post(bomb, { "content-encoding": "gzip" })).toMatchObject({
      status: 413,
      json: { code: "request_too_large" },
    });
  });

  it("answers 400 for malformed JSON or a broken encoding, 413 over the limit, 415 for unknown encodings and charsets", async () => {
    expect(await post("{nope")).toMatchObject({ status: 400, json: { code: "invalid_json" } });
    expect(await post("not gzip", { "content-encoding": "gzip" })).toMatchObject({
      status: 400,
      json: { code: "invalid_body" },
    });
    expect(await post("x".repeat(LIMIT + 1))).toMatchObject({ status: 413, json: { code: "request_too_large" } });
    expect(await post("{}", { "content-encoding": "zstd-ish" })).toMatchObject({ status: 415 });
    expect(await post("{}", { "content-type": "application/json; charset=latin1" })).toMatchObject({ status: 415 });
  });

  it("keeps the connection usable after refusing a large body", async () => {
    expect((await post("y".repeat(LIMIT * 50))).status).toBe(413);
    expect((await post('{"after":true}')).json.body).toEqual({ after: true });
  });
});
