import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonDepthExceeded, MAX_JSON_DEPTH, readJsonBody } from "./body.js";
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

  it("answers 400 naming the field when the body nests deeper than the bound", async () => {
    // Issue 15 #3: deep nesting overflowed JSON.stringify in every adapter.
    const deep = `{"model":"m","metadata":{"x":${"[".repeat(200)}${"]".repeat(200)}}}`;
    expect(await post(deep)).toMatchObject({ status: 400, json: { code: "nesting_too_deep" } });
    expect(await post(`${"[".repeat(200)}${"]".repeat(200)}`)).toMatchObject({
      status: 400,
      json: { code: "nesting_too_deep" },
    });
    const brackets = `{"a":"[[[[{{{{\\"","b":${"[".repeat(100)}${"]".repeat(100)}}`;
    expect((await post(brackets)).status).toBe(200); // brackets inside strings do not count
  });

  it("keeps the connection usable after refusing a large body", async () => {
    expect((await post("y".repeat(LIMIT * 50))).status).toBe(413);
    expect((await post('{"after":true}')).json.body).toEqual({ after: true });
  });
});

describe("jsonDepthExceeded", () => {
  it("names the top-level key under which the text nests too deep", () => {
    const nested = (n: number) => "[".repeat(n) + "]".repeat(n);
    expect(jsonDepthExceeded(`{"model":"x","tools":${nested(MAX_JSON_DEPTH)}}`, MAX_JSON_DEPTH)).toBe("tools");
    expect(jsonDepthExceeded(`{"model":"x","tools":${nested(MAX_JSON_DEPTH - 1)}}`, MAX_JSON_DEPTH)).toBeNull();
    expect(jsonDepthExceeded(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe("");
  });

  it("skips brackets and escaped quotes inside strings", () => {
    expect(jsonDepthExceeded(`{"k":"\\"[[[[[[","v":[[1]]}`, 3)).toBeNull();
    expect(jsonDepthExceeded(`{"k\\"q":[[[1]]]}`, 3)).toBe('k\\"q');
  });
});
