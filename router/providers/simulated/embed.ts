/**
 * The simulated provider's embeddings: one deterministic unit vector per input, seeded by the input's hash, of
 * `dimensions` entries (SIMULATED_EMBEDDING_DIMENSIONS when the request sets none). Pure.
 */
import { base64Floats, type EmbeddingResponse, type ParsedEmbeddingRequest } from "../../openai/embeddings.js";
import { rng } from "../../prng.js";
import { fnv1a } from "./translate.js";

export const SIMULATED_EMBEDDING_DIMENSIONS = 256;
/** Above OpenAI's largest model (3072), a guard against a request for a huge vector. */
export const MAX_SIMULATED_DIMENSIONS = 8192;

/** A unit vector (L2 norm 1) derived from the text alone. */
export function unitVector(text: string, dimensions: number): number[] {
  const next = rng(fnv1a(text));
  const raw = Array.from({ length: dimensions }, () => next() * 2 - 1);
  const norm = Math.sqrt(raw.reduce((s, v) => s + v * v, 0)) || 1;
  return raw.map((v) => v / norm);
}

export function simulatedEmbeddings(model: string, parsed: ParsedEmbeddingRequest): EmbeddingResponse {
  const dimensions = Math.min(parsed.body.dimensions ?? SIMULATED_EMBEDDING_DIMENSIONS, MAX_SIMULATED_DIMENSIONS);
  const base64 = parsed.body.encoding_format === "base64";
  const data = parsed.inputs.map((text, index) => {
    const vector = unitVector(text, dimensions);
    return { object: "embedding" as const, index, embedding: base64 ? base64Floats(vector) : vector };
  });
  const tokens = Math.max(1, parsed.inputTokens);
  return { object: "list", data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } };
}
