import { describe, expect, it } from "vitest";
import { parseRetryAfter, retryAfterFromHeaders } from "./retry-after.js";

const NOW = Date.parse("2025-01-01T00:00:00Z");

describe("parseRetryAfter", () => {
  it("returns milliseconds when the value is delta-seconds", () => {
    expect(parseRetryAfter("2", NOW)).toBe(2000);
    expect(parseRetryAfter(" 0.5 ", NOW)).toBe(500);
  });

  it("returns the time until the date when the value is an HTTP-date", () => {
    expect(parseRetryAfter("Wed, 01 Jan 2025 00:00:30 GMT", NOW)).toBe(30_000);
  });

  it("returns 0 when the HTTP-date is in the past", () => {
    expect(parseRetryAfter("Tue, 31 Dec 2024 23:59:00 GMT", NOW)).toBe(0);
  });

  it("returns null when the value is absent or unparsable", () => {
    expect(parseRetryAfter(undefined, NOW)).toBeNull();
    expect(parseRetryAfter("", NOW)).toBeNull();
    expect(parseRetryAfter("soon", NOW)).toBeNull();
    expect(parseRetryAfter("-1", NOW)).toBeNull();
    expect(parseRetryAfter("0x10", NOW)).toBeNull();
  });
});

describe("retryAfterFromHeaders", () => {
  it("prefers retry-after-ms when both headers are present", () => {
    expect(retryAfterFromHeaders({ "retry-after-ms": "1500", "retry-after": "2" }, NOW)).toBe(1500);
  });

  it("falls back to retry-after when retry-after-ms is absent", () => {
    expect(retryAfterFromHeaders({ "retry-after": "3" }, NOW)).toBe(3000);
  });
});
