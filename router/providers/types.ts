/**
 * The shape every provider adapter (router/providers/<type>/) implements. Requests and responses are in the
 * OpenAI Chat Completions wire format (router/openai/types.ts); an adapter for another API translates both ways.
 * An adapter whose API also serves the Responses API natively (openai) passes those requests through as well.
 */
import type { CallSignal } from "./shared/call-signal.js";
import type { ProviderConfig } from "../config/types.js";
import type { EmbeddingRequest, EmbeddingResponse } from "../openai/embeddings.js";
import type { ResponsesEvent } from "../openai/responses-native.js";
import type { ChatCompletion, ChatCompletionChunk, ChatRequest, JsonObject } from "../openai/types.js";

/**
 * What went wrong: the upstream answered an error status (`http`), could not be reached (`connect`), took too long
 * (`timeout`), dropped the connection (`reset`), answered something unusable (`malformed`); the call was aborted
 * (`aborted`: the client went away); the request could not be encoded for this upstream (`request`: the request's
 * fault, not the provider's); or the adapter itself failed unexpectedly (`internal`: the router's fault).
 */
export type UpstreamErrorKind =
  "http" | "connect" | "timeout" | "reset" | "malformed" | "aborted" | "request" | "internal";

/**
 * A 4xx the upstream attributes to the request that another candidate may accept (`context_length`, `max_tokens`,
 * `unsupported_parameter`), or one that must never be routed around (`content_filter`).
 */
export type Rejection = "context_length" | "max_tokens" | "unsupported_parameter" | "content_filter";

export interface UpstreamErrorDetails {
  cause?: unknown;
  /** The upstream's own error code (`context_length_exceeded`, …), when it sent one. */
  code?: string | null;
  /** The upstream's `param`, when it named one. */
  param?: string | null;
  rejection?: Rejection | null;
}

/** Thrown by adapters. Never carries the API key. */
export class UpstreamError extends Error {
  override readonly name = "UpstreamError";
  readonly code: string | null;
  readonly param: string | null;
  readonly rejection: Rejection | null;

  constructor(
    readonly kind: UpstreamErrorKind,
    message: string,
    readonly status: number | null = null,
    /** From the upstream's retry-after header, in ms. */
    readonly retryAfterMs: number | null = null,
    details: UpstreamErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = details.code ?? null;
    this.param = details.param ?? null;
    this.rejection = details.rejection ?? null;
  }

  /** The same error with another message (dispatch's second redaction pass). */
  withMessage(message: string): UpstreamError {
    return new UpstreamError(this.kind, message, this.status, this.retryAfterMs, {
      cause: this.cause,
      code: this.code,
      param: this.param,
      rejection: this.rejection,
    });
  }
}

export interface TraceContext {
  traceparent?: string;
  tracestate?: string;
}

export interface CallOptions {
  /** Aborts the upstream call (client went away, attempt timeout). */
  signal: CallSignal;
  /** The resolved API key, or null. */
  apiKey: string | null;
  /** The provider's extra CA bundle (PEM, from its egress.caKey credential), or null. */
  caBundle?: string | null;
  requestId: string;
  /**
   * W3C trace context forwarded upstream with the request id, so an upstream's traces join the router's: the
   * attempt span's when tracing is on (the upstream's spans nest under the attempt), else the client's
   * (`traceparent`, `tracestate`, well-formed only).
   */
  trace?: TraceContext;
  /** Told about every stream event the adapter skipped as malformed (counted by the request record). */
  onMalformedEvent?: () => void;
}

export interface CompletionResult {
  body: ChatCompletion;
}

export interface EmbeddingResult {
  body: EmbeddingResponse;
}

export interface StreamResult {
  /**
   * Chunks in order. Malformed events are skipped (and reported to onMalformedEvent); iteration throws
   * UpstreamError when the upstream fails mid-stream or the body ends without the stream's finish.
   */
  chunks: AsyncIterable<ChatCompletionChunk>;
}

/** A Responses API response object, checked: completed or incomplete, never one still in progress. */
export interface ResponseResult {
  body: JsonObject;
}

export interface ResponsesStreamResult {
  /**
   * Events in order, up to and including the terminal one (response.completed or response.incomplete). Malformed
   * events are skipped (and reported to onMalformedEvent); iteration throws UpstreamError on an `error` or
   * `response.failed` event, or when the body ends without a terminal event.
   */
  events: AsyncIterable<ResponsesEvent>;
}

export interface ProviderAdapter {
  /** Non-streaming call. Throws UpstreamError. */
  complete(provider: ProviderConfig, request: ChatRequest, options: CallOptions): Promise<CompletionResult>;
  /**
   * Streaming call. Resolves once the upstream accepted the request (status 200 and headers), so failures
   * before the first byte reject here and can be retried or fallen back from. The adapter asks for usage in
   * the final chunk when the upstream supports it.
   */
  stream(provider: ProviderConfig, request: ChatRequest, options: CallOptions): Promise<StreamResult>;
  /**
   * Embeddings (POST /v1/embeddings), for adapters whose API serves them; absent otherwise (anthropic). Throws
   * UpstreamError.
   */
  embed?(provider: ProviderConfig, request: EmbeddingRequest, options: CallOptions): Promise<EmbeddingResult>;
  /**
   * POST /responses, the Responses API request as the client sent it (with the provider's model), for adapters
   * whose API speaks it (openai) and providers that declare capabilities.responses. Throws UpstreamError.
   */
  respond?(provider: ProviderConfig, request: JsonObject, options: CallOptions): Promise<ResponseResult>;
  /** The same, streaming: resolves once the upstream accepted the request (status 200 and headers). */
  respondStream?(provider: ProviderConfig, request: JsonObject, options: CallOptions): Promise<ResponsesStreamResult>;
  /** Frees connection pools. */
  close(): Promise<void>;
}
