/**
 * The OpenAI Chat Completions wire format, as clients send it and as every provider adapter speaks it (an
 * adapter for another API translates both ways). Unknown fields pass through untouched.
 */

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
