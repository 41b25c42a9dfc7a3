/**
 * The OpenAI Embeddings wire format (POST /v1/embeddings): request validation and the token estimate. `input` is
 * a string, an array of strings, an array of token ids or an array of such arrays; unknown fields pass through.
 */
import { isRecord } from "../config/json.js";
import { badRequest } from "./errors.js";
import { estimateTokens } from "./tokens.js";
import type { JsonObject } from "./types.js";

export interface EmbeddingRequest extends JsonObject {
  model: string;
  input: string | string[] | number[] | number[][];
  dimensions?: number;
  encoding_format?: "float" | "base64";
}

export interface Embedding {
  object: "embedding";
  index: number;
  /** Floats, or base64 of little-endian float32s when the request asked for `encoding_format: "base64"`. */
  embedding: number[] | string;
}

export interface EmbeddingResponse extends JsonObject {
  object: "list";
  data: Embedding[];
  model: string;
  /** Absent when the upstream sent none (the router then estimates, and says so). */
  usage?: { prompt_tokens: number; total_tokens: number };
}

export interface ParsedEmbeddingRequest {
  body: EmbeddingRequest;
  /** One key per input: its text, or its token ids as JSON (seeds the simulated provider's vectors). */
  inputs: string[];
  /** Estimated input tokens (strings at ~4 characters a token, token arrays by their length). */
  inputTokens: number;
}

/** Most inputs in one request, like OpenAI's limit. */
export const MAX_EMBEDDING_INPUTS = 2048;

export function parseEmbeddingRequest(body: unknown): ParsedEmbeddingRequest {
  if (!isRecord(body)) throw badRequest("the request body must be a JSON object");
  if (typeof body["model"] !== "string" || body["model"] === "")
    throw badRequest("model is required and must be a string", "model");
  const items = inputItems(body["input"]);
  checkOptions(body);
  return {
    body: body as EmbeddingRequest,
    inputs: items.map((i) => (typeof i === "string" ? i : JSON.stringify(i))),
    inputTokens: items.reduce<number>((n, i) => n + (typeof i === "string" ? estimateTokens(i.length) : i.length), 0),
  };
}

const INPUT_SHAPE = "input must be a string, an array of strings, an array of token ids or an array of those";

function inputItems(input: unknown): (string | number[])[] {
  if (typeof input === "string") return [input];
  if (!Array.isArray(input) || input.length === 0) throw badRequest(INPUT_SHAPE, "input");
  if (input.length > MAX_EMBEDDING_INPUTS)
    throw badRequest(`input has more than ${MAX_EMBEDDING_INPUTS} items`, "input");
  if (input.every(isTokenId)) return [input as number[]];
  if (input.every((i) => typeof i === "string" || (Array.isArray(i) && i.length > 0 && i.every(isTokenId))))
    return input as (string | number[])[];
  throw badRequest(INPUT_SHAPE, "input");
}

function isTokenId(x: unknown): boolean {
  return typeof x === "number" && Number.isInteger(x) && x >= 0;
}

function checkOptions(body: Record<string, unknown>): void {
  const d = body["dimensions"];
  if (d !== undefined && (typeof d !== "number" || !Number.isInteger(d) || d < 1))
    throw badRequest("dimensions must be a positive integer", "dimensions");
  const f = body["encoding_format"];
  if (f !== undefined && f !== "float" && f !== "base64")
    throw badRequest('encoding_format must be "float" or "base64"', "encoding_format");
}

/** Floats as base64 of little-endian float32s (OpenAI's `encoding_format: "base64"`). */
export function base64Floats(vector: number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
  return bytes.toString("base64");
}
