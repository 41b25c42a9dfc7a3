import { describe, expect, it } from "vitest";
import { REDACTED, redactSecrets } from "./redact.js";

const KEY = "sk-live-abcdefghijklmnop";

describe("redactSecrets", () => {
  it("replaces every occurrence of a secret when the text echoes it", () => {
    expect(redactSecrets(`bad key ${KEY}, again ${KEY}`, [KEY])).toBe(`bad key ${REDACTED}, again ${REDACTED}`);
  });

  it("redacts a Bearer token when the secret is not known", () => {
    expect(redactSecrets('{"authorization":"Bearer other-tenant-token-123"}')).toBe(
      `{"authorization":"Bearer ${REDACTED}"}`,
    );
  });

  it("redacts key headers when they are echoed as JSON or as text", () => {
    expect(redactSecrets('{"x-api-key":"abcdefgh12345"}')).toBe(`{"x-api-key":"${REDACTED}"}`);
    expect(redactSecrets("api-key: abcdefgh12345; next")).toBe(`api-key: ${REDACTED}; next`);
  });

  it("leaves text without credentials alone, and ignores secrets too short to search for", () => {
    expect(redactSecrets("Rate limited: try again in 2s", ["ab", null])).toBe("Rate limited: try again in 2s");
    expect(redactSecrets("authorization failed")).toBe("authorization failed");
  });
});
