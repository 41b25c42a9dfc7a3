import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { describeWriteError } from "./kube.js";

describe("describeWriteError", () => {
  it("gives the API server's status code and message", () => {
    const body = JSON.stringify({ kind: "Status", message: 'configmaps "routewise-router" is forbidden: denied' });
    const err = new ApiException(403, "HTTP-Code: 403", body, {});
    expect(describeWriteError(err)).toBe('HTTP 403: configmaps "routewise-router" is forbidden: denied');
  });

  it("redacts credential values and bounds the length", () => {
    const err = new Error(`write failed for value sk-live-123 ${"x".repeat(400)}`);
    const text = describeWriteError(err, ["sk-live-123", ""]);
    expect(text).not.toContain("sk-live-123");
    expect(text).toContain("[redacted]");
    expect(text.length).toBeLessThanOrEqual(300);
  });

  it("falls back to the raw body or the thrown value", () => {
    expect(describeWriteError(new ApiException(500, "m", "plain text", {}))).toBe("HTTP 500: plain text");
    expect(describeWriteError("boom")).toBe("boom");
  });
});
