import { describe, expect, it } from "vitest";
import { DEFAULT_SERVICE_NAME, tracingFromEnv } from "./trace-export.js";

const ENDPOINT = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" };

describe("tracingFromEnv", () => {
  it("is off when no OTLP endpoint is set", () => {
    expect(tracingFromEnv({})).toBeNull();
    expect(tracingFromEnv({ OTEL_SERVICE_NAME: "x", OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" })).toBeNull();
  });

  it("is on with OTEL_EXPORTER_OTLP_ENDPOINT, as protobuf for routewise-router by default", () => {
    expect(tracingFromEnv(ENDPOINT)).toEqual({ serviceName: DEFAULT_SERVICE_NAME, protocol: "http/protobuf" });
  });

  it("is on with only OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", () => {
    expect(tracingFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/v1/traces" })).not.toBeNull();
  });

  it("is off when OTEL_SDK_DISABLED is true, whatever the endpoint", () => {
    expect(tracingFromEnv({ ...ENDPOINT, OTEL_SDK_DISABLED: "TRUE" })).toBeNull();
    expect(tracingFromEnv({ ...ENDPOINT, OTEL_SDK_DISABLED: "false" })).not.toBeNull();
  });

  it("ignores empty variables", () => {
    expect(tracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: " " })).toBeNull();
  });

  it("takes the service name and the protocol, the traces-specific protocol first", () => {
    const env = {
      ...ENDPOINT,
      OTEL_SERVICE_NAME: "router-eu",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
    };
    expect(tracingFromEnv(env)).toEqual({ serviceName: "router-eu", protocol: "http/json" });
  });

  it("refuses a protocol it cannot speak when tracing is on", () => {
    expect(() => tracingFromEnv({ ...ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toThrow(/grpc/);
  });
});
