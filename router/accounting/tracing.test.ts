import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { describe, expect, it } from "vitest";
import type { ProviderConfig } from "../config/types.js";
import { RequestSpans, SELECT_SPAN } from "./tracing.js";

const provider = {
  id: "default/a",
  type: "anthropic",
  model: "claude",
  baseURL: "https://api.example.com/v1",
} as ProviderConfig;
const CLIENT = { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", tracestate: "rojo=1" };

function setup() {
  const exporter = new InMemorySpanExporter();
  const tracer = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }).getTracer("t");
  const spans = new RequestSpans(tracer, "req-1", CLIENT);
  const named = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);
  return { exporter, spans, named };
}

describe("RequestSpans", () => {
  it("sets error.type but not an error status on a 4xx refusal", () => {
    const { spans, named } = setup();
    spans.requestedModel("nope");
    spans.rejected(404, "model_not_found");
    spans.end();
    const [server] = named("chat nope");
    expect(server?.kind).toBe(SpanKind.SERVER);
    expect(server?.attributes).toMatchObject({ "error.type": "model_not_found", "http.response.status_code": 404 });
    expect(server?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it("ends the select span failed when the request is refused during selection", () => {
    const { spans, named } = setup();
    spans.routing();
    spans.rejected(429, "all_candidates_saturated");
    spans.end();
    const [select] = named(SELECT_SPAN);
    expect(select?.attributes["error.type"]).toBe("all_candidates_saturated");
    expect(select?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it("forwards the attempt span's context with the client's tracestate, and ends it once", () => {
    const { spans, named } = setup();
    const attempt = spans.attemptStarted(provider);
    const [, traceId, spanId] = attempt.trace.traceparent?.split("-") ?? [];
    expect(traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(attempt.trace.tracestate).toBe("rojo=1");
    attempt.end("success");
    attempt.end("timeout");
    spans.end();
    const attempts = named("chat claude");
    expect(attempts).toHaveLength(1);
    expect(attempts[0]?.spanContext().spanId).toBe(spanId);
    expect(attempts[0]?.attributes).toMatchObject({
      "gen_ai.provider.name": "anthropic",
      "server.address": "api.example.com",
      "server.port": 443,
      "routewise.attempt.outcome": "success",
    });
  });

  it("ends an attempt the response outlived as abandoned", () => {
    const { spans, named } = setup();
    spans.attemptStarted(provider);
    spans.end();
    expect(named("chat claude")[0]?.attributes["error.type"]).toBe("abandoned");
  });
});
