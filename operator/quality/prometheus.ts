/**
 * Prometheus' HTTP API, the one call the operator makes: an instant query (GET /api/v1/query). The response is
 * parsed as `unknown` by parseQueryResponse (pure); errors are typed and never carry the URL's credentials.
 */
import { isRecord } from "../../router/config/json.js";

/** An instant vector sample: its labels and value (NaN and ±Inf as Prometheus writes them become numbers). */
export interface VectorSample {
  labels: Record<string, string>;
  value: number;
}

export class PrometheusError extends Error {
  override readonly name = "PrometheusError";
}

export type FetchLike = (
  url: string,
  init: { signal: AbortSignal; headers: Record<string, string> },
) => Promise<{
  ok: boolean;
  status: number;
  json(): Promise<unknown>;
}>;

export interface PrometheusClientOptions {
  /** Base URL, e.g. http://prometheus-operated.monitoring:9090 (a path prefix is kept). */
  url: string;
  fetch: FetchLike;
  timeoutMs: number;
}

export class PrometheusClient {
  constructor(private readonly o: PrometheusClientOptions) {}

  async query(expr: string): Promise<VectorSample[]> {
    const base = this.o.url.replace(/\/+$/, "");
    const url = `${base}/api/v1/query?query=${encodeURIComponent(expr)}`;
    let res: Awaited<ReturnType<FetchLike>>;
    let body: unknown;
    try {
      res = await this.o.fetch(url, {
        signal: AbortSignal.timeout(this.o.timeoutMs),
        headers: { accept: "application/json" },
      });
      body = await res.json().catch(() => null);
    } catch (err) {
      throw new PrometheusError(redact(`query failed: ${describeCause(err)}`, this.o.url), { cause: err });
    }
    if (!res.ok && !isRecord(body)) throw new PrometheusError(`query failed: HTTP ${res.status}`);
    return parseQueryResponse(body);
  }
}

/** The samples of an instant-vector query response; throws PrometheusError for an error or another shape. */
export function parseQueryResponse(body: unknown): VectorSample[] {
  if (!isRecord(body)) throw new PrometheusError("query failed: the response is not a JSON object");
  if (body["status"] !== "success") {
    const why = typeof body["error"] === "string" ? body["error"].slice(0, 200) : "no error message";
    throw new PrometheusError(`query failed: ${why}`);
  }
  const data = body["data"];
  if (!isRecord(data) || data["resultType"] !== "vector" || !Array.isArray(data["result"]))
    throw new PrometheusError("query failed: the response holds no instant vector");
  return data["result"].flatMap((r: unknown): VectorSample[] => {
    const sample = parseSample(r);
    return sample ? [sample] : [];
  });
}

function parseSample(r: unknown): VectorSample | null {
  if (!isRecord(r) || !isRecord(r["metric"]) || !Array.isArray(r["value"])) return null;
  const raw: unknown = r["value"][1];
  if (typeof raw !== "string") return null;
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(r["metric"])) if (typeof v === "string") labels[k] = v;
  return { labels, value: Number(raw) };
}

function describeCause(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === "TimeoutError" || err.name === "AbortError") return "timed out";
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : "";
  return `${err.message}${cause}`;
}

/** Removes the URL's user info (and the URL as written) from a message, and bounds its length. */
export function redact(message: string, url: string): string {
  let text = message;
  try {
    const u = new URL(url);
    for (const secret of [u.password, u.username]) if (secret !== "") text = text.split(secret).join("[redacted]");
  } catch {
    // not a URL: nothing in it to redact
  }
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
