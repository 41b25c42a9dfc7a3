/**
 * Turning tracing on (docs/adr/0013-tracing.md): off unless OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (and OTEL_SDK_DISABLED is not true). Then a tracer provider of its own
 * (never the global one) with a BatchSpanProcessor and an OTLP/HTTP exporter, protobuf or JSON by
 * OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL. The exporter reads the other OTEL_EXPORTER_OTLP_* variables itself
 * (endpoint, headers, timeout, compression, certificates).
 */
import type { Tracer } from "@opentelemetry/api";
import { ExportResultCode, type ExportResult } from "@opentelemetry/core";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { Logger } from "pino";

export const DEFAULT_SERVICE_NAME = "routewise-router";
export const TRACER_NAME = "routewise";

export type OtlpProtocol = "http/protobuf" | "http/json";

export interface TracingSettings {
  serviceName: string;
  protocol: OtlpProtocol;
}

/** The router's tracer, and flushing it (tests, shutdown). */
export interface Tracing {
  tracer: Tracer;
  /** Exports every ended span now. */
  flush(): Promise<void>;
  /** Flushes, then stops exporting (idempotent). */
  shutdown(): Promise<void>;
}

/** Tracing's settings from the environment, or null when tracing is off. Throws on a protocol it cannot speak. */
export function tracingFromEnv(env: Readonly<Record<string, string | undefined>>): TracingSettings | null {
  const set = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === "" ? undefined : v;
  };
  if (set("OTEL_SDK_DISABLED")?.toLowerCase() === "true") return null;
  if (set("OTEL_EXPORTER_OTLP_ENDPOINT") === undefined && set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") === undefined)
    return null;
  const protocol = set("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ?? set("OTEL_EXPORTER_OTLP_PROTOCOL") ?? "http/protobuf";
  if (protocol !== "http/protobuf" && protocol !== "http/json")
    throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported: use http/protobuf or http/json`);
  return { serviceName: set("OTEL_SERVICE_NAME") ?? DEFAULT_SERVICE_NAME, protocol };
}

export function startTracing(settings: TracingSettings, logger: Logger): Tracing {
  const otlp = settings.protocol === "http/json" ? new JsonExporter() : new ProtobufExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new LoggedExporter(otlp, logger) })],
  });
  let shutdown: Promise<void> | null = null;
  return {
    tracer: provider.getTracer(TRACER_NAME),
    flush: () => provider.forceFlush(),
    shutdown: () => (shutdown ??= provider.shutdown()),
  };
}

/** The OTLP exporter, with failed exports logged (the SDK would only tell its diag logger). */
class LoggedExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly logger: Logger,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS)
        this.logger.warn({ err: result.error, spans: spans.length }, "Failed to export spans");
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
