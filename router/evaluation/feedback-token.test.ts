import { describe, expect, it } from "vitest";
import { signFeedbackToken, verifyFeedbackToken, type FeedbackPayload } from "./feedback-token.js";

const key = Buffer.from("k".repeat(32));
const payload: FeedbackPayload = { r: "chat", m: "cheap-model", d: "classifier", i: "req-1", e: 2_000_000_000 };

describe("feedback tokens", () => {
  it("verifies a token signed with the same key and returns its payload", () => {
    const token = signFeedbackToken(key, payload);
    expect(token).toMatch(/^v1\.[\w-]+\.[\w-]+$/);
    expect(verifyFeedbackToken(key, token, 1_000)).toEqual({ ok: true, payload });
  });

  it("refuses a token whose payload was changed", () => {
    const [v, , sig] = signFeedbackToken(key, payload).split(".");
    const forged = Buffer.from(JSON.stringify({ ...payload, r: "other" })).toString("base64url");
    const check = verifyFeedbackToken(key, `${v}.${forged}.${sig}`, 1_000);
    expect(check.ok ? null : check.code).toBe("invalid_feedback_token");
  });

  it("refuses a token signed with another key", () => {
    const check = verifyFeedbackToken(Buffer.from("x".repeat(32)), signFeedbackToken(key, payload), 1_000);
    expect(check.ok ? null : check.message).toMatch(/signature/);
  });

  it("refuses an expired token", () => {
    const check = verifyFeedbackToken(key, signFeedbackToken(key, payload), payload.e);
    expect(check.ok ? null : check.code).toBe("expired_feedback_token");
  });

  it.each(["", "v1.abc", "v2.a.b", "v1..", "garbage"])("refuses the malformed token %j", (token) => {
    expect(verifyFeedbackToken(key, token, 1_000).ok).toBe(false);
  });
});
