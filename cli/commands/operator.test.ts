import { describe, expect, it } from "vitest";
import { qualityOptions } from "./operator.js";

describe("routewise operator quality flags", () => {
  it("turns --quality-interval and --quality-hold into milliseconds and keeps --prometheus-url", () => {
    expect(qualityOptions({ prometheusUrl: "http://prom:9090", qualityInterval: "30s", qualityHold: "1h" })).toEqual({
      prometheusUrl: "http://prom:9090",
      qualityIntervalMs: 30_000,
      qualityHoldMs: 3_600_000,
    });
    expect(qualityOptions({ qualityInterval: "60s", qualityHold: "1h" })).not.toHaveProperty("prometheusUrl");
  });

  it("refuses a URL that is not http(s), a malformed duration and an interval under 1s", () => {
    expect(() => qualityOptions({ prometheusUrl: "prom:9090", qualityInterval: "60s", qualityHold: "1h" })).toThrow(
      "--prometheus-url must be an http(s) URL",
    );
    expect(() => qualityOptions({ qualityInterval: "1 minute", qualityHold: "1h" })).toThrow(/--quality-interval/);
    expect(() => qualityOptions({ qualityInterval: "500ms", qualityHold: "1h" })).toThrow("at least 1s");
  });
});
