/**
 * The request/response core for upstreams that speak the OpenAI Chat Completions wire format (OpenAI, vLLM,
 * Ollama, Together, Groq, Azure OpenAI). The provider folders supply the endpoint and the auth header.
 */
import type { ProviderConfig } from "../../config/types.js";
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from "../../openai/types.js";
import type { CallOptions, CompletionResult, EmbeddingResult, ProviderAdapter, StreamResult } from "../types.js";
import type { EmbeddingResponse } from "../../openai/embeddings.js";
import type { UpstreamError } from "../types.js";
import { encodeRequest, fieldsOf, inBandError, malformed, statusOf, upstreamError } from "./errors.js";
import { perObject } from "../../config/per-object.js";
import { readJson, send, type Endpoint, type HttpClient, type Response } from "./http.js";
import { isRecord } from "../../config/json.js";
import { str, toUsage } from "./json.js";
import { parseEvent, releasing, sseEvents } from "./stream.js";

export interface OpenAICompatibleSpec {
  /** Computed once per ProviderConfig object. */
  endpoint: (provider: ProviderConfig) => Endpoint;
  /** "authorization" (Bearer) or a header that carries the bare key ("api-key"). */
  authHeader: string;
  /** Builds the upstream JSON body. */
  body: (provider: ProviderConfig, request: ChatRequest, stream: boolean) => string;
  /** POST …/embeddings: computed once per ProviderConfig object. */
  embeddingsEndpoint: (provider: ProviderConfig) => Endpoint;
}

export function createOpenAICompatibleAdapter(http: HttpClient, spec: OpenAICompatibleSpec): ProviderAdapter {
  const release = http.retain();
  const endpointOf = perObject(spec.endpoint);
  const embeddingsOf = perObject(spec.embeddingsEndpoint);
  const sendTo = (provider: ProviderConfig, endpoint: Endpoint, body: () => string, options: CallOptions) =>
    send({
      providerId: provider.id,
      dispatcher: http.dispatcherFor(provider, options.caBundle),
      endpoint,
      authHeader: spec.authHeader,
      body: encodeRequest(provider.id, body),
      timeoutMs: provider.timeouts.requestMs,
      options,
    });
  const post = (provider: ProviderConfig, request: ChatRequest, options: CallOptions, stream: boolean) =>
    sendTo(provider, endpointOf(provider), () => spec.body(provider, request, stream), options);
  return {
    async complete(provider, request, options): Promise<CompletionResult> {
      const res = await post(provider, request, options, false);
      const json = await readJson(res, options.signal, provider.id);
      return { body: toCompletion(json, provider, options.apiKey) };
    },
    async stream(provider, request, options): Promise<StreamResult> {
      const res = await post(provider, request, options, true);
      return { chunks: releasing(openAIChunks(res, provider, options), res) };
    },
    async embed(provider, request, options): Promise<EmbeddingResult> {
      const body = () => JSON.stringify({ ...request, model: provider.model });
      const res = await sendTo(provider, embeddingsOf(provider), body, options);
      const json = await readJson(res, options.signal, provider.id);
      return { body: toEmbeddings(json, provider, options.apiKey) };
    },
    close: release,
  };
}

/**
 * Checks a non-streaming response and fills the fields some compatible servers omit. Never a truncated success:
 * an error object (an in-band error), no choices, or a choice without its finish_reason is an upstream failure.
 */
export function toCompletion(value: unknown, provider: ProviderConfig, apiKey: string | null = null): ChatCompletion {
  const inBand = inBandError(provider.id, value, apiKey);
  if (inBand) throw inBand;
  if (!isRecord(value) || !Array.isArray(value["choices"]) || value["choices"].length === 0) {
    throw malformed(provider.id, "no choices");
  }
  if (!value["choices"].every((c) => isRecord(c) && typeof c["finish_reason"] === "string")) {
    throw malformed(provider.id, "a choice without finish_reason: a truncated answer");
  }
  const completion: ChatCompletion = Object.assign(value, {
    id: str(value["id"]) ?? "",
    object: "chat.completion" as const,
    model: str(value["model"]) ?? provider.model,
    choices: value["choices"],
  });
  normalizeUsage(completion);
  return completion;
}

/**
 * Checks an embeddings response: a `data` list of embeddings (floats or base64), usage with prompt tokens. An
 * error object or anything else is an upstream failure, never an empty success.
 */
export function toEmbeddings(
  value: unknown,
  provider: ProviderConfig,
  apiKey: string | null = null,
): EmbeddingResponse {
  const inBand = inBandError(provider.id, value, apiKey);
  if (inBand) throw inBand;
  if (!isRecord(value) || !Array.isArray(value["data"]) || value["data"].length === 0)
    throw malformed(provider.id, "no embeddings");
  if (!value["data"].every(isEmbedding)) throw malformed(provider.id, "an item without its embedding");
  const usage = embeddingUsage(value["usage"]);
  const response: EmbeddingResponse = Object.assign(value, {
    object: "list" as const,
    data: value["data"] as EmbeddingResponse["data"],
    model: str(value["model"]) ?? provider.model,
  });
  if (usage) response.usage = usage;
  else delete response.usage;
  return response;
}

/** The upstream's usage when it reports prompt tokens, else null (the router estimates). */
function embeddingUsage(value: unknown): EmbeddingResponse["usage"] | null {
  const prompt = isRecord(value) ? value["prompt_tokens"] : undefined;
  if (typeof prompt !== "number" || !Number.isFinite(prompt) || prompt < 0) return null;
  return { prompt_tokens: prompt, total_tokens: prompt };
}

function isEmbedding(d: unknown): boolean {
  return isRecord(d) && (Array.isArray(d["embedding"]) || typeof d["embedding"] === "string");
}

/**
 * One stream event as a chunk; null for a malformed event (not an object, no choices), which the stream skips.
 * An `{"error": …}` event (vLLM, LiteLLM, OpenAI mid-stream) becomes an UpstreamError.
 */
export function toChunk(
  value: unknown,
  provider: ProviderConfig,
  apiKey: string | null = null,
): ChatCompletionChunk | null {
  if (!isRecord(value)) return null;
  if (!Array.isArray(value["choices"])) {
    if ("error" in value) throw streamError(value, provider.id, apiKey);
    return null;
  }
  const chunk: ChatCompletionChunk = Object.assign(value, {
    id: str(value["id"]) ?? "",
    object: "chat.completion.chunk" as const,
    model: str(value["model"]) ?? provider.model,
    choices: value["choices"],
  });
  if (chunk.usage !== undefined && chunk.usage !== null) normalizeUsage(chunk);
  return chunk;
}

function normalizeUsage(target: { usage?: unknown }): void {
  if (!("usage" in target)) return;
  const usage = toUsage(target.usage);
  if (usage === null) delete target.usage;
  else target.usage = usage;
}

function streamError(event: unknown, providerId: string, apiKey: string | null): UpstreamError {
  const f = fieldsOf(event);
  return upstreamError(providerId, statusOf(f, 500), f, { apiKey, what: "upstream error mid-stream" });
}

/**
 * Chunks until `data: [DONE]`. Reads the body to its end so the socket goes back to the pool. Malformed events
 * are skipped and reported; a body that ends without [DONE] and without any finish_reason is truncated:
 * UpstreamError("malformed").
 */
async function* openAIChunks(
  res: Response,
  provider: ProviderConfig,
  options: CallOptions,
): AsyncGenerator<ChatCompletionChunk> {
  let done = false;
  let finished = false;
  for await (const event of sseEvents(res, options.signal, provider.id)) {
    if (done) continue;
    if (event.data === "[DONE]") {
      done = true;
      continue;
    }
    const chunk = toChunk(parseEvent(event.data), provider, options.apiKey);
    if (chunk === null) {
      options.onMalformedEvent?.();
      continue;
    }
    if (!finished) finished = hasFinishReason(chunk);
    yield chunk;
  }
  if (!done && !finished) throw malformed(provider.id, "stream ended before [DONE]");
}

function hasFinishReason(chunk: ChatCompletionChunk): boolean {
  const first: unknown = chunk.choices[0];
  return isRecord(first) && typeof first["finish_reason"] === "string";
}
