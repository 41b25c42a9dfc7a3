/**
 * Anthropic Messages API: POST {baseURL}/v1/messages (or {baseURL}/messages when baseURL ends with /v1), key in
 * `x-api-key`, `anthropic-version: 2023-06-01`. Requests and responses are translated by router/anthropic-wire/ (./translate.ts adds the provider's model and max_tokens).
 */
import { perObject } from "../../config/per-object.js";
import type { ProviderConfig } from "../../config/types.js";
import { encodeRequest, inBandError, malformed, upstreamError } from "../shared/errors.js";
import {
  lowerCaseHeaders,
  readJson,
  send,
  splitBaseURL,
  type Endpoint,
  type HttpClient,
  type Response,
} from "../shared/http.js";
import { parseEvent, releasing, sseEvents } from "../shared/stream.js";
import type { ChatCompletionChunk, ChatRequest } from "../../openai/types.js";
import type { CallOptions, ProviderAdapter } from "../types.js";
import { fromAnthropicMessage } from "../../anthropic-wire/message.js";
import { StreamTranslator } from "../../anthropic-wire/stream.js";
import { ANTHROPIC_VERSION } from "../../anthropic-wire/tables.js";
import { toAnthropicRequest } from "./translate.js";

export interface AnthropicAdapterDeps {
  http: HttpClient;
  /** Seconds since the epoch for `created`; defaults to the wall clock. */
  nowSec?: () => number;
}

export function anthropicEndpoint(provider: ProviderConfig): Endpoint {
  const { origin, prefix } = splitBaseURL(provider.baseURL);
  const path = prefix.endsWith("/v1") ? `${prefix}/messages` : `${prefix}/v1/messages`;
  const headers = {
    ...lowerCaseHeaders(provider.headers),
    "content-type": "application/json",
    "anthropic-version": ANTHROPIC_VERSION,
  };
  return { origin, path, headers };
}

export function createAnthropicAdapter(deps: AnthropicAdapterDeps): ProviderAdapter {
  const { http } = deps;
  const nowSec = deps.nowSec ?? (() => Math.floor(Date.now() / 1000));
  const release = http.retain();
  const endpointOf = perObject(anthropicEndpoint);
  const post = (provider: ProviderConfig, request: ChatRequest, options: CallOptions, stream: boolean) =>
    send({
      providerId: provider.id,
      dispatcher: http.dispatcherFor(provider, options.caBundle),
      endpoint: endpointOf(provider),
      authHeader: "x-api-key",
      body: encodeRequest(provider.id, () => JSON.stringify(toAnthropicRequest(provider, request, stream))),
      timeoutMs: provider.timeouts.requestMs,
      options,
    });
  return {
    async complete(provider, request, options) {
      const res = await post(provider, request, options, false);
      const json = await readJson(res, options.signal, provider.id);
      const inBand = inBandError(provider.id, json, options.apiKey);
      if (inBand) throw inBand;
      const body = fromAnthropicMessage(json, nowSec());
      if (body === null) throw malformed(provider.id, "not an Anthropic message");
      // Never a truncated success: a message without its stop_reason did not finish.
      if (typeof (json as { stop_reason?: unknown }).stop_reason !== "string")
        throw malformed(provider.id, "a message without stop_reason: a truncated answer");
      return { body };
    },
    async stream(provider, request, options) {
      const res = await post(provider, request, options, true);
      return { chunks: releasing(anthropicChunks(res, provider, options, nowSec()), res) };
    },
    close: release,
  };
}

/**
 * OpenAI chunks from an Anthropic event stream; ends after message_stop (reading the body to its end). Events that
 * are not JSON objects with a string `type` are skipped and reported; unknown types are ignored (added later).
 */
async function* anthropicChunks(
  res: Response,
  provider: ProviderConfig,
  options: CallOptions,
  createdSec: number,
): AsyncGenerator<ChatCompletionChunk> {
  const translator = new StreamTranslator(provider.model, createdSec);
  let done = false;
  for await (const event of sseEvents(res, options.signal, provider.id)) {
    if (done) continue;
    const value = parseEvent(event.data);
    if (!isTyped(value)) {
      options.onMalformedEvent?.();
      continue;
    }
    const step = translator.step(value);
    if (step.type === "none") continue;
    if (step.type === "error") {
      const fields = { message: step.message, type: null, code: null, status: step.status, param: null };
      throw upstreamError(provider.id, step.status, fields, {
        apiKey: options.apiKey,
        what: "upstream error mid-stream",
      });
    }
    if (step.type === "done") done = true;
    yield step.chunk;
  }
  if (!done) throw malformed(provider.id, "stream ended before message_stop");
}

function isTyped(value: unknown): boolean {
  return typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string";
}
