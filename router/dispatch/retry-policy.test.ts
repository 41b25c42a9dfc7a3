import { describe, expect, it } from "vitest";
import { UpstreamError, type Rejection, type UpstreamErrorKind } from "../providers/types.js";
import { countsAgainstProvider, failureAction, type FailureAction } from "./retry-policy.js";

const RETRY_ON = [408, 429, 500, 502, 503, 504];

const error = (kind: UpstreamErrorKind, status: number | null = null, rejection: Rejection | null = null) =>
  new UpstreamError(kind, "x", status, null, { rejection });

// [what happened, the error, what dispatch does, counts against the provider's circuit breaker]
const TABLE: [string, UpstreamError, FailureAction, boolean][] = [
  ["429 rate limited", error("http", 429), "retry", false], // issue 15 #9: 429 no longer trips the breaker
  ["408 upstream timeout", error("http", 408), "retry", true],
  ["500 server error", error("http", 500), "retry", true],
  ["502 bad gateway", error("http", 502), "retry", true],
  ["503 unavailable", error("http", 503), "retry", true],
  ["504 gateway timeout", error("http", 504), "retry", true],
  ["529 overloaded (not in retryOn)", error("http", 529), "next", true],
  ["501 not implemented (not in retryOn)", error("http", 501), "next", true],
  ["401 bad upstream key", error("http", 401), "next", true],
  ["403 upstream forbids", error("http", 403), "next", true],
  ["400 request rejected", error("http", 400), "reject", false],
  ["404 unknown upstream model", error("http", 404), "reject", false],
  ["413 request too large", error("http", 413), "reject", false],
  ["422 unprocessable", error("http", 422), "reject", false],
  // Issue 15: request-shaped rejections another candidate may accept move on, uncounted; content filters do not.
  ["400 context length exceeded", error("http", 400, "context_length"), "next", false],
  ["400 max tokens too large", error("http", 400, "max_tokens"), "next", false],
  ["400 unsupported parameter", error("http", 400, "unsupported_parameter"), "next", false],
  ["400 content filter", error("http", 400, "content_filter"), "reject", false],
  ["http error without a status", error("http", null), "next", true],
  ["connection refused", error("connect"), "retry", true],
  ["attempt timed out", error("timeout"), "next", true], // issue 15: timeouts fail over instead of retrying
  ["connection reset", error("reset"), "retry", true],
  ["malformed answer", error("malformed"), "next", true],
  ["client gone or total timeout", error("aborted"), "stop", false],
  // Issue 15 #3: what the request or the router caused never counts against the provider.
  ["request cannot be encoded", error("request"), "reject", false],
  ["unexpected adapter error", error("internal"), "next", false],
];

describe("failureAction", () => {
  it.each(TABLE)("%s → %s", (_what, e, action, counts) => {
    const got = failureAction(e, RETRY_ON);
    expect(got).toBe(action);
    expect(countsAgainstProvider(e, got)).toBe(counts);
  });

  it("falls back instead of retrying a 5xx the route does not list in retryOn", () => {
    expect(failureAction(error("http", 503), [429])).toBe("next");
  });

  it("returns a request-shaped 4xx even when the route lists it in retryOn", () => {
    expect(failureAction(error("http", 409), [409, 429])).toBe("reject");
  });
});
