/**
 * The simulated upstream's pure part: what it answers to a request. Deterministic: the reply text is derived from
 * a hash of the prompt, the failure decision from a hash of (request id, provider id), so tests are reproducible.
 * Token accounting uses ~4 characters per token.
 */
import type { ProviderConfig, SimulatedBehaviour } from "../../config/types.js";
import { estimateTokens } from "../../openai/tokens.js";
import type { ChatRequest, Usage } from "../../openai/types.js";
import { contentText } from "../../openai/content.js";
import { rng } from "../../prng.js";

/** Used when a simulated provider has no `simulated` block: instant, never failing, 64-token replies. */
export const DEFAULT_SIMULATED: SimulatedBehaviour = {
  timeToFirstTokenMs: 0,
  tokensPerSecond: 0,
  failureRate: 0,
  outputTokens: 64,
};

/** Per-message framing tokens, as in OpenAI's accounting, plus 3 to prime the reply. */
const TOKENS_PER_MESSAGE = 4;
const REPLY_PRIMING_TOKENS = 3;

// Four-letter-ish words, so one word plus its space is about one token at 4 chars/token.
const WORDS = (
  "the and for you are can will this that with from have more some time into over also when what each make " +
  "like just know take than them only well work year back good give most very even want used find here many " +
  "long part such path node data load rate test flow plan case step fast safe cost real core"
).split(" ");

/** 32-bit FNV-1a. */
export function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export interface Plan {
  /** Seeds the reply text. */
  promptHash: number;
  promptTokens: number;
  completionTokens: number;
  finishReason: "stop" | "length";
}

/** Counts prompt tokens and hashes the prompt in one pass; caps the reply by max_(completion_)tokens. */
export function plan(provider: ProviderConfig, request: ChatRequest): Plan {
  const behaviour = provider.simulated ?? DEFAULT_SIMULATED;
  let hash = 0x811c9dc5;
  let promptTokens = REPLY_PRIMING_TOKENS;
  for (const m of request.messages) {
    const text = contentText(m.content);
    hash = fnv1a(text, fnv1a(m.role, hash));
    promptTokens += TOKENS_PER_MESSAGE + estimateTokens(text.length);
  }
  const asked = request["max_completion_tokens"] ?? request["max_tokens"];
  const cap = Math.min(
    typeof asked === "number" && asked > 0 ? Math.floor(asked) : Infinity,
    provider.maxOutputTokens > 0 ? provider.maxOutputTokens : Infinity,
  );
  const wanted = Math.max(1, Math.floor(behaviour.outputTokens));
  return {
    promptHash: hash,
    promptTokens,
    completionTokens: Math.min(wanted, cap),
    finishReason: cap < wanted ? "length" : "stop",
  };
}

/** The reply's tokens, one string each (a word with its leading space; sentences end every 6–17 words). */
export function* replyTokens(promptHash: number, count: number): Generator<string> {
  const next = rng(promptHash);
  let sentenceLeft = 0;
  for (let i = 0; i < count; i++) {
    const word = WORDS[Math.floor(next() * WORDS.length)] ?? "the";
    const startsSentence = sentenceLeft === 0;
    if (startsSentence) sentenceLeft = 6 + Math.floor(next() * 12);
    sentenceLeft--;
    const text = startsSentence ? word.charAt(0).toUpperCase() + word.slice(1) : word;
    const end = sentenceLeft === 0 || i === count - 1 ? "." : "";
    yield (i === 0 ? "" : " ") + text + end;
  }
}

export function replyText(promptHash: number, count: number): string {
  let text = "";
  for (const token of replyTokens(promptHash, count)) text += token;
  return text;
}

/** Whether this request fails: uniform in [0,1) from the hash of request and provider id, below failureRate. */
export function shouldFail(provider: ProviderConfig, requestId: string): boolean {
  const rate = (provider.simulated ?? DEFAULT_SIMULATED).failureRate;
  if (rate <= 0) return false;
  const u = rng(fnv1a(provider.id, fnv1a(requestId)))();
  return u < rate;
}

export function usageOf(p: Plan): Usage {
  return {
    prompt_tokens: p.promptTokens,
    completion_tokens: p.completionTokens,
    total_tokens: p.promptTokens + p.completionTokens,
  };
}

/** A chat completion id derived from the request id. */
export function completionId(requestId: string): string {
  return `chatcmpl-sim-${fnv1a(requestId).toString(16).padStart(8, "0")}`;
}
