import { describe, expect, it } from "vitest";
import { parseEmbeddingRequest } from "../../openai/embeddings.js";
import { SIMULATED_EMBEDDING_DIMENSIONS, simulatedEmbeddings, unitVector } from "./embed.js";

describe("simulated embeddings", () => {
  it("returns the same unit vector when the text is the same", () => {
    const v = unitVector("hello", 64);
    expect(unitVector("hello", 64)).toEqual(v);
    expect(Math.hypot(...v)).toBeCloseTo(1, 9);
    expect(unitVector("other", 64)).not.toEqual(v);
  });

  it("honours dimensions and returns one item per input when input is an array", () => {
    const parsed = parseEmbeddingRequest({ model: "m", input: ["a", "b"], dimensions: 8 });
    const r = simulatedEmbeddings("sim", parsed);
    expect(r.data.map((d) => d.index)).toEqual([0, 1]);
    expect(r.data[0]?.embedding).toHaveLength(8);
    expect(r.usage?.prompt_tokens).toBeGreaterThan(0);
  });

  it("uses the default dimension when the request sets none", () => {
    const r = simulatedEmbeddings("sim", parseEmbeddingRequest({ model: "m", input: "a" }));
    expect(r.data[0]?.embedding).toHaveLength(SIMULATED_EMBEDDING_DIMENSIONS);
  });

  it("encodes little-endian float32s when encoding_format is base64", () => {
    const r = simulatedEmbeddings("sim", parseEmbeddingRequest({ model: "m", input: "a", encoding_format: "base64" }));
    const bytes = Buffer.from(r.data[0]?.embedding as string, "base64");
    expect(bytes.length).toBe(SIMULATED_EMBEDDING_DIMENSIONS * 4);
    expect(bytes.readFloatLE(0)).toBeCloseTo(unitVector("a", SIMULATED_EMBEDDING_DIMENSIONS)[0] ?? 0, 6);
  });
});

describe("parseEmbeddingRequest", () => {
  it("refuses an empty input array with 400 naming input", () => {
    expect(() => parseEmbeddingRequest({ model: "m", input: [] })).toThrow(/input must be/);
  });

  it("refuses a non-integer dimensions", () => {
    expect(() => parseEmbeddingRequest({ model: "m", input: "a", dimensions: 1.5 })).toThrow(/dimensions/);
  });

  it("counts token-id inputs by their length", () => {
    expect(parseEmbeddingRequest({ model: "m", input: [[1, 2, 3], [4]] }).inputTokens).toBe(4);
  });
});
