import { describe, expect, it } from "vitest";
import { UpstreamError } from "../types.js";
import { httpError, messageFromBody, toUpstreamError } from "./errors.js";

const KEY = "sk-live-abcdefghijklmnop";

function codeError(code: string): Error {
  return Object.assign(new Error(`failed with ${code}`), { code });
}

describe("toUpstreamError", () => {
  it("maps connection, timeout and socket codes to their kinds when the signal is not aborted", () => {
    const signal = new AbortController().signal;
    expect(toUpstreamError(codeError("ECONNREFUSED"), signal, "p").kind).toBe("connect");
    expect(toUpstreamError(codeError("UND_ERR_CONNECT_TIMEOUT"), signal, "p").kind).toBe("connect");
    expect(toUpstreamError(codeError("UND_ERR_HEADERS_TIMEOUT"), signal, "p").kind).toBe("timeout");
    expect(toUpstreamError(codeError("UND_ERR_BODY_TIMEOUT"), signal, "p").kind).toBe("timeout");
    expect(toUpstreamError(codeError("UND_ERR_SOCKET"), signal, "p").kind).toBe("reset");
    expect(toUpstreamError(codeError("ECONNRESET"), signal, "p").kind).toBe("reset");
  });

  it("finds the code inside an AggregateError when happy eyeballs tried several addresses", () => {
    const err = new AggregateError([codeError("ECONNREFUSED"), codeError("ECONNREFUSED")]);
    expect(toUpstreamError(err, new AbortController().signal, "p").kind).toBe("connect");
  });

  it("returns aborted when the signal is aborted whatever the error", () => {
    const controller = new AbortController();
    controller.abort();
    const mapped = toUpstreamError(codeError("UND_ERR_SOCKET"), controller.signal, "p");
    expect(mapped.kind).toBe("aborted");
    expect(mapped.cause).toBeInstanceOf(Error);
  });

  it("passes an UpstreamError through unchanged when it is already mapped", () => {
    const original = new UpstreamError("malformed", "bad");
    expect(toUpstreamError(original, new AbortController().signal, "p")).toBe(original);
  });
});

describe("httpError", () => {
  it("uses the upstream's error.message when the body is OpenAI- or Anthropic-shaped", () => {
    expect(messageFromBody('{"error":{"message":"Rate limited"}}')).toBe("Rate limited");
    expect(messageFromBody('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}')).toBe(
      "Overloaded",
    );
    expect(messageFromBody('{"error":"plain"}')).toBe("plain");
  });

  it("redacts the API key when the upstream echoes it", () => {
    const err = httpError(
      "p",
      401,
      JSON.stringify({ error: { message: `Incorrect API key provided: ${KEY}` } }),
      null,
      KEY,
    );
    expect(err.message).not.toContain(KEY);
    expect(err.message).toContain("[redacted]");
    expect(err.status).toBe(401);
  });

  it("falls back to the status when the body is not JSON", () => {
    expect(httpError("p", 502, "<html>Bad gateway</html>", 1000, null).message).toBe("p: HTTP 502");
  });
});
