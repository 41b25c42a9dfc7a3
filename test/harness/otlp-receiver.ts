/**
 * A small OTLP/HTTP trace receiver on loopback: accepts POST /v1/traces, answers 200 with an empty
 * ExportTraceServiceResponse, and keeps every body. JSON bodies (OTEL_EXPORTER_OTLP_PROTOCOL=http/json) are
 * decoded into flat spans; protobuf ones are kept raw.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedExport {
  path: string;
  contentType: string;
  body: Buffer;
}

/** One span as exported, with its attributes flattened to plain values. */
export interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  status: number;
  events: string[];
  /** The resource's attributes (service.name, …). */
  resource: Record<string, string | number | boolean>;
}

export interface OtlpReceiver {
  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  exports: ReceivedExport[];
  /** Every span of every JSON export so far. */
  spans(): ExportedSpan[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const exports: ReceivedExport[] = [];
  const server = createServer((req, res) => {
    void receive(req, res, exports);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exports,
    spans: () => exports.filter((e) => e.contentType.includes("json")).flatMap((e) => decodeJson(e.body)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

async function receive(req: IncomingMessage, res: ServerResponse, exports: ReceivedExport[]): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (req.method !== "POST" || req.url !== "/v1/traces") {
    res.writeHead(404).end();
    return;
  }
  const contentType = req.headers["content-type"] ?? "";
  exports.push({ path: req.url, contentType, body: Buffer.concat(chunks) });
  if (contentType.includes("json")) res.writeHead(200, { "content-type": "application/json" }).end("{}");
  else res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
}

interface JsonKeyValue {
  key: string;
  value: Record<string, unknown>;
}

interface JsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: JsonKeyValue[];
  status?: { code?: number };
  events?: { name: string }[];
}

interface JsonExport {
  resourceSpans?: {
    resource?: { attributes?: JsonKeyValue[] };
    scopeSpans?: { spans?: JsonSpan[] }[];
  }[];
}

function decodeJson(body: Buffer): ExportedSpan[] {
  const request = JSON.parse(body.toString("utf8")) as JsonExport;
  return (request.resourceSpans ?? []).flatMap((rs) => {
    const resource = flatten(rs.resource?.attributes);
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? "",
        name: s.name,
        kind: s.kind,
        attributes: flatten(s.attributes),
        status: s.status?.code ?? 0,
        events: (s.events ?? []).map((e) => e.name),
        resource,
      })),
    );
  });
}

/** OTLP AnyValue key-values as plain values (intValue may come as a string). */
function flatten(kvs: JsonKeyValue[] = []): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of kvs) {
    const v = value["stringValue"] ?? value["intValue"] ?? value["doubleValue"] ?? value["boolValue"];
    if (typeof v === "string" && "intValue" in value) out[key] = Number(v);
    else if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out[key] = v;
  }
  return out;
}
