/**
 * The request/response core for upstreams that speak the OpenAI Chat Completions wire format (OpenAI, vLLM,
 * Ollama, Together, Groq, Azure OpenAI). The provider folders supply the endpoint and the auth header.
 */
import type { ProviderConfig } from "../../config/types.js";
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from "../../openai/types.js";
import type { CallOptions, CompletionResult, ProviderAdapter, StreamResult } from "../types.js";
import { UpstreamError } from "../types.js";
import { encodeRequest, malformed } from "./errors.js";
import { redactSecrets } from "./redact.js";
import { perProvider, readJson, send, type Endpoint, type HttpClient, type Response } from "./http.js";
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
}

export function createOpenAICompatibleAdapter(http: HttpClient, spec: OpenAICompatibleSpec): ProviderAdapter {
  const release = http.retain();
  const endpointOf = perProvider(spec.endpoint);
  const post = (provider: ProviderConfig, request: ChatRequest, options: CallOptions, stream: boolean) =>
    send({
      providerId: provider.id,
      dispatcher: http.dispatcherFor(provider.timeouts.connectMs),
      endpoint: endpointOf(provider),
      authHeader: spec.authHeader,
      body: encodeRequest(provider.id, () => spec.body(provider, request, stream)),
      timeoutMs: provider.timeouts.requestMs,
      options,
    });
  return {
    async complete(provider, request, options): Promise<CompletionResult> {
      const res = await post(provider, request, options, false);
      const json = await readJson(res, options.signal, provider.id);
      return { body: toCompletion(json, provider) };
    },
    async stream(provider, request, options): Promise<StreamResult> {
      const res = await post(provider, request, options, true);
      return { chunks: releasing(openAIChunks(res, provider, options), res) };
    },
    close: release,
  };
}

/** Checks a non-streaming response and fills the fields some compatible servers omit. */
export function toCompletion(value: unknown, provider: ProviderConfig): ChatCompletion {
  if (!isRecord(value) || !Array.isArray(value["choices"])) {
    throw malformed(provider.id, isRecord(value) && "error" in value ? "error body with 2xx status" : "no choices");
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

/** Checks one stream chunk; an `{"error": …}` event (vLLM, LiteLLM, OpenAI mid-stream) becomes an UpstreamError. */
export function toChunk(value: unknown, provider: ProviderConfig, apiKey: string | null = null): ChatCompletionChunk {
  if (!isRecord(value)) throw malformed(provider.id, "stream event is not a JSON object");
  if (!Array.isArray(value["choices"])) {
    if ("error" in value) throw streamError(value["error"], provider.id, apiKey);
    throw malformed(provider.id, "stream chunk without choices");
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

function streamError(error: unknown, providerId: string, apiKey: string | null): UpstreamError {
  const message = redactSecrets((isRecord(error) ? str(error["message"]) : str(error)) ?? "unknown", [apiKey]);
  const code = isRecord(error) ? error["code"] : null;
  const status = typeof code === "number" && code >= 400 && code < 600 ? code : 500;
  return new UpstreamError("http", `${providerId}: upstream error mid-stream: ${message}`, status);
}

/**
 * Chunks until `data: [DONE]`. Reads the body to its end so the socket goes back to the pool. A body that ends
 * without [DONE] and without any finish_reason is truncated: UpstreamError("malformed").
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
    const chunk = toChunk(parseEvent(event.data, provider.id), provider, options.apiKey);
    if (!finished) finished = hasFinishReason(chunk);
    yield chunk;
  }
  if (!done && !finished) throw malformed(provider.id, "stream ended before [DONE]");
}

function hasFinishReason(chunk: ChatCompletionChunk): boolean {
  const first: unknown = chunk.choices[0];
  return isRecord(first) && typeof first["finish_reason"] === "string";
}
