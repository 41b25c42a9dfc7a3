/**
 * The OpenAI Responses API, natively (ModelProvider capabilities.responses): POST {baseURL}/responses with the
 * client's Responses request, and the upstream's answer checked but not translated. Never a truncated success: a
 * response still in progress or one that failed, an `error` / `response.failed` event, or a stream that ends without
 * response.completed (or response.incomplete) is an UpstreamError, its upstream text redacted like every other.
 */
import { perObject } from "../../config/per-object.js";
import { isRecord } from "../../config/json.js";
import { TERMINAL_EVENTS, type ResponsesEvent } from "../../openai/responses-native.js";
import type { JsonObject } from "../../openai/types.js";
import { encodeRequest, fieldsOf, malformed, statusOf, upstreamError, type ErrorFields } from "../shared/errors.js";
import { readJson, send, splitBaseURL, type Endpoint, type HttpClient, type Response } from "../shared/http.js";
import { parseEvent, releasing, sseEvents } from "../shared/stream.js";
import type { CallOptions, ProviderAdapter, ResponseResult, ResponsesStreamResult, UpstreamError } from "../types.js";
import type { ProviderConfig } from "../../config/types.js";
import { jsonHeaders } from "./translate.js";

/** POST {baseURL}/responses. */
export function openAIResponsesEndpoint(provider: ProviderConfig): Endpoint {
  const { origin, prefix } = splitBaseURL(provider.baseURL);
  return { origin, path: `${prefix}/responses`, headers: jsonHeaders(provider) };
}

/** The adapter's Responses API calls, on the adapter's HTTP client (its lifetime is the adapter's). */
export function responsesCalls(http: HttpClient): Required<Pick<ProviderAdapter, "respond" | "respondStream">> {
  const endpointOf = perObject(openAIResponsesEndpoint);
  const post = (provider: ProviderConfig, request: JsonObject, options: CallOptions) =>
    send({
      providerId: provider.id,
      dispatcher: http.dispatcherFor(provider, options.caBundle),
      endpoint: endpointOf(provider),
      authHeader: "authorization",
      body: encodeRequest(provider.id, () => JSON.stringify(request)),
      timeoutMs: provider.timeouts.requestMs,
      options,
    });
  return {
    async respond(provider, request, options): Promise<ResponseResult> {
      const res = await post(provider, { ...request, stream: false }, options);
      const json = await readJson(res, options.signal, provider.id);
      return { body: toResponse(json, provider, options.apiKey) };
    },
    async respondStream(provider, request, options): Promise<ResponsesStreamResult> {
      const res = await post(provider, { ...request, stream: true }, options);
      return { events: releasing(responsesEvents(res, provider, options), res) };
    },
  };
}

/** Statuses of a response that answered (`incomplete`: cut by max_output_tokens or a content filter). */
const ANSWERED = new Set(["completed", "incomplete"]);

/**
 * Checks a non-streaming response object: an error body or a failed response is the upstream's failure, a
 * response without its output or not finished (queued, in progress) a malformed one.
 */
export function toResponse(value: unknown, provider: ProviderConfig, apiKey: string | null = null): JsonObject {
  if (!isRecord(value)) throw malformed(provider.id, "not a response object");
  if (value["object"] !== "response") {
    if (isRecord(value["error"]) || typeof value["error"] === "string")
      throw failure(provider.id, fieldsOf(value), apiKey, { what: "in-band error in a 200 answer", midStream: false });
    throw malformed(provider.id, "not a response object");
  }
  const status = value["status"];
  if (status === "failed")
    throw failure(provider.id, responseError(value), apiKey, { what: "the response failed", midStream: false });
  if (typeof status !== "string" || !ANSWERED.has(status))
    throw malformed(provider.id, `a response with status ${JSON.stringify(status)}: not a finished answer`);
  if (!Array.isArray(value["output"])) throw malformed(provider.id, "a response without output");
  return value;
}

/**
 * The stream's events until the terminal one (the rest of the body is read and dropped, so the socket goes back
 * to the pool). Malformed events are skipped and reported.
 */
async function* responsesEvents(
  res: Response,
  provider: ProviderConfig,
  options: CallOptions,
): AsyncGenerator<ResponsesEvent> {
  let ended = false;
  for await (const sse of sseEvents(res, options.signal, provider.id)) {
    if (ended || sse.data === "[DONE]") continue;
    const event = toEvent(parseEvent(sse.data), sse.data, provider, options.apiKey);
    if (event === null) {
      options.onMalformedEvent?.();
      continue;
    }
    ended = TERMINAL_EVENTS.has(event.type);
    yield event;
  }
  if (!ended) throw malformed(provider.id, "stream ended before response.completed");
}

/** One event; null when malformed (not an object, no type); an error or failure event becomes an UpstreamError. */
export function toEvent(
  value: unknown,
  data: string,
  provider: ProviderConfig,
  apiKey: string | null = null,
): ResponsesEvent | null {
  if (!isRecord(value) || typeof value["type"] !== "string") return null;
  const { type } = value;
  if (type === "error")
    throw failure(provider.id, eventError(value), apiKey, { what: "upstream error mid-stream", midStream: true });
  if (type === "response.failed") {
    const response = isRecord(value["response"]) ? value["response"] : {};
    throw failure(provider.id, responseError(response), apiKey, {
      what: "the response failed mid-stream",
      midStream: true,
    });
  }
  return { type, value, data };
}

/** Error codes of a failed response or an error event that stand for a status other than a server error. */
const STATUS_OF_CODE: Record<string, number> = { rate_limit_exceeded: 429 };

/**
 * An error that arrived inside a 200. Mid-stream (`midStream`), the status it stands for (its numeric code, its
 * type, rate_limit_exceeded: 429; else 500), as for chat streams; otherwise (a failed response, an error body) the
 * upstream's failure, at least a 5xx (429 for a rate limit), never a verdict on the request.
 */
function failure(
  providerId: string,
  f: ErrorFields,
  apiKey: string | null,
  o: { what: string; midStream: boolean },
): UpstreamError {
  const status = (f.code === null ? undefined : STATUS_OF_CODE[f.code]) ?? statusOf(f, 500);
  const floor = o.midStream || status === 429 || status >= 500 ? status : 502;
  return upstreamError(providerId, floor, f, { apiKey, what: o.what });
}

/** `{"type":"error","code","message","param"}`. */
function eventError(value: JsonObject): ErrorFields {
  return fieldsOf({ error: value });
}

/** A response's `error: {code, message}`. */
function responseError(response: JsonObject): ErrorFields {
  return fieldsOf({ error: isRecord(response["error"]) ? response["error"] : {} });
}
