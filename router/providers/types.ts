/**
 * The shape every provider adapter (router/providers/<type>/) implements. Requests and responses are in the
 * OpenAI Chat Completions wire format; an adapter for another API translates both ways.
 */
import type { ProviderConfig } from "../config/types.js";

/** A JSON object as received from a client (already validated to have `model` and `messages`). */
export type JsonObject = Record<string, unknown>;

export interface ChatMessage {
  role: string;
  content?: unknown;
  [key: string]: unknown;
}

/** OpenAI chat completion request body. Unknown fields pass through untouched. */
export interface ChatRequest extends JsonObject {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number };
}

/** OpenAI chat completion response (non-streaming). */
export interface ChatCompletion extends JsonObject {
  id: string;
  object: "chat.completion";
  model: string;
  choices: unknown[];
  usage?: Usage;
}

/** OpenAI chat completion chunk (one SSE `data:` line). */
export interface ChatCompletionChunk extends JsonObject {
  id: string;
  object: "chat.completion.chunk";
  model: string;
  choices: unknown[];
  usage?: Usage | null;
}

export type UpstreamErrorKind = "http" | "connect" | "timeout" | "reset" | "malformed" | "aborted";

/** Thrown by adapters. Never carries the API key. */
export class UpstreamError extends Error {
  override readonly name = "UpstreamError";
  constructor(
    readonly kind: UpstreamErrorKind,
    message: string,
    readonly status: number | null = null,
    /** From the upstream's retry-after header, in ms. */
    readonly retryAfterMs: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** 429, 5xx, 408, connection problems and timeouts are worth another try elsewhere. */
  get retryable(): boolean {
    if (this.kind === "aborted") return false;
    if (this.kind !== "http") return true;
    const s = this.status ?? 0;
    return s === 408 || s === 429 || s >= 500;
  }
}

export interface CallOptions {
  /** Aborts the upstream call (client went away, attempt timeout). */
  signal: AbortSignal;
  /** The resolved API key, or null. */
  apiKey: string | null;
  requestId: string;
}

export interface CompletionResult {
  body: ChatCompletion;
}

export interface StreamResult {
  /** Chunks in order. Iteration throws UpstreamError when the upstream fails mid-stream. */
  chunks: AsyncIterable<ChatCompletionChunk>;
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
  /** Frees connection pools. */
  close(): Promise<void>;
}
