/**
 * Reads a JSON request body from a raw node:http request, with the same rules the express.json parser applied:
 * any content type, gzip/deflate/br content encodings, a byte limit on the decoded body (413), UTF-8 only (415),
 * and an empty body read as `{}`. Used by the chat completions hot path, which bypasses express (ADR 5).
 */
import type { IncomingMessage } from "node:http";
import { Transform, type Readable } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import { HttpError } from "../openai/errors.js";

/** Deepest nesting of arrays and objects accepted (a tool's JSON schema is rarely deeper than 30). */
export const MAX_JSON_DEPTH = 128;

/** Longest key named in the error's `param`. */
const MAX_PARAM = 64;

const QUOTE = 34;
const BACKSLASH = 92;

/**
 * Whether `text` nests arrays/objects deeper than `max`: null when not, else the top-level key the too-deep value
 * sits under ("" when there is none). A linear scan that skips strings; it does not validate the JSON.
 */
export function jsonDepthExceeded(text: string, max: number): string | null {
  let depth = 0;
  let key = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i + 1);
      if (depth === 1) key = text.slice(i + 1, Math.min(end, i + 1 + MAX_PARAM));
      i = end;
    } else if (c === 91 || c === 123) {
      if (++depth > max) return key;
    } else if (c === 93 || c === 125) {
      depth--;
    }
  }
  return null;
}

/** Index of the quote closing the string whose content starts at `from` (text.length when unterminated). */
function stringEnd(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i;
  }
  return text.length;
}

/** The body text as JSON: {} when blank, 400 when too deep or not JSON. */
function parseBody(text: string): unknown {
  if (text.trim() === "") return {};
  const key = jsonDepthExceeded(text, MAX_JSON_DEPTH);
  if (key !== null) {
    const where = key === "" ? "" : ` in ${JSON.stringify(key)}`;
    throw new HttpError(
      400,
      `the request body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels${where}`,
      "invalid_request_error",
      "nesting_too_deep",
      key === "" ? null : key,
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "the request body is not valid JSON", "invalid_request_error", "invalid_json");
  }
}

const tooLarge = (limit: number): HttpError =>
  new HttpError(
    413,
    `the request body is larger than the limit (${limit} bytes)`,
    "invalid_request_error",
    "request_too_large",
  );

function decoded(req: IncomingMessage): Readable {
  const encoding = (req.headers["content-encoding"] ?? "identity").toLowerCase();
  switch (encoding) {
    case "identity":
      return req;
    case "gzip":
      return req.pipe(createGunzip());
    case "deflate":
      return req.pipe(createInflate());
    case "br":
      return req.pipe(createBrotliDecompress());
    default:
      throw new HttpError(
        415,
        `unsupported content encoding "${encoding}"`,
        "invalid_request_error",
        "unsupported_encoding",
      );
  }
}

function checkCharset(req: IncomingMessage): void {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers["content-type"] ?? "");
  const charset = m?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") {
    throw new HttpError(415, `unsupported charset "${charset}"`, "invalid_request_error", "unsupported_charset");
  }
}

/** The parsed body. Rejects with an HttpError (400, 413, 415) the error handler turns into OpenAI-shaped JSON. */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? NaN);
    let stream: Readable;
    try {
      checkCharset(req);
      if (req.headers["content-encoding"] === undefined && declared > limit) throw tooLarge(limit);
      stream = decoded(req);
    } catch (err) {
      req.resume(); // discard the body; the connection stays usable for the error response
      reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (err: Error): void => {
      stream.off("data", onData);
      if (stream instanceof Transform) {
        // The decompressor would go on inflating the rest of the body (a bomb: CPU-seconds after the 413).
        req.unpipe(stream);
        stream.destroy();
      }
      req.resume();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        stop(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    stream.on("data", onData);
    if (stream !== req) {
      stream.once("error", () => {
        stop(new HttpError(400, "the request body could not be decoded", "invalid_request_error", "invalid_body"));
      });
    }
    req.once("error", stop);
    req.once("close", () => {
      if (!req.complete) stop(new Error("the client closed the connection before sending the whole body"));
    });
    stream.once("end", () => {
      try {
        const whole = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
        resolve(parseBody(whole.toString("utf8")));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}
