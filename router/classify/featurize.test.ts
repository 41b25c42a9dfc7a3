import { describe, expect, it } from "vitest";
import {
  DEFAULT_FEATURE_CONFIG,
  DENSE_FEATURE_NAMES,
  DENSE_SIZE,
  featureSize,
  featurize,
  featurizeSparse,
  featurizeSparseTransient,
  prepareInput,
  normalizeText,
  promptKey,
  boundedInput,
  MAX_INPUT_CHARS,
} from "./featurize.js";
import { analyzerPrompts } from "../../test/fixtures/analyzer/prompts.js";
import { buildLexiconIndex, lexiconMask, LEXICON_NAMES, PREFIX_KEY_LENGTH } from "./lexicons.js";

const input = (prompt: string, system = "") => ({ prompt, system, totalChars: prompt.length + system.length });

describe("featurize", () => {
  it("is deterministic and has the configured size", () => {
    const a = featurize(input("Explain why the sky is blue, in 3 sentences."));
    const b = featurize(input("Explain why the sky is blue, in 3 sentences."));
    expect(a.length).toBe(featureSize(DEFAULT_FEATURE_CONFIG));
    expect(a.length).toBe(DENSE_SIZE + 2 ** DEFAULT_FEATURE_CONFIG.hashBits);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a).every(Number.isFinite)).toBe(true);
  });

  it("L2-normalises the hashed block and leaves no state between calls", () => {
    featurize(input("some other text first ".repeat(50)));
    const v = featurize(input("def f(x):\n    return x * 2\n"));
    let sq = 0;
    for (let i = DENSE_SIZE; i < v.length; i++) sq += (v[i] ?? 0) ** 2;
    expect(sq).toBeCloseTo(1, 5);
    expect(Array.from(v)).toEqual(Array.from(featurize(input("def f(x):\n    return x * 2\n"))));
  });

  it("gives an all-zero hashed block for empty input", () => {
    const v = featurize(input(""));
    expect(v.slice(DENSE_SIZE).every((x) => x === 0)).toBe(true);
  });

  it("sees code, maths and options in the dense signals", () => {
    const at = (name: string): number => DENSE_FEATURE_NAMES.indexOf(name);
    const code = featurize(input("```python\ndef f():\n    return 1\n```"));
    expect(code[at("code_fence")]).toBe(1);
    const mc = featurize(input("Which is a metal?\nA) wood\nB) iron\nC) glass\nD) paper"));
    expect(mc[at("options")]).toBeGreaterThan(0);
    expect(mc[at("lex_science")]).toBe(0);
    expect(featurize(input("Solve $x^2 + 3x = 10$"))[at("latex")]).toBeGreaterThan(0);
  });

  it("counts distinct words exactly for type_token_ratio, on short prompts and on one that grows its table", () => {
    const at = DENSE_FEATURE_NAMES.indexOf("type_token_ratio");
    // 4,000 words (within MAX_INPUT_CHARS), ~2,900 of them distinct: letters, since digits all fold to 0.
    const letters = (k: number): string =>
      (k < 26 ? "" : letters(Math.floor(k / 26))) + String.fromCharCode(97 + (k % 26));
    const many = Array.from({ length: 4000 }, (_, i) => letters((i * 7919) % 2903));
    const prompts = [...analyzerPrompts().map((p) => p.prompt), many.join(" "), "a a a b b c", "same same", "one"];
    for (const prompt of prompts) {
      const words = normalizeText(boundedInput(input(prompt)).prompt).match(/[\p{L}\p{N}_]+/gu) ?? [];
      const want = words.length === 0 ? 0 : new Set(words).size / words.length;
      expect(featurize(input(prompt))[at]).toBe(Math.fround(want));
    }
  });

  it("normalises case, whitespace and digits; promptKey follows", () => {
    expect(normalizeText("  Hello\n\nWORLD 2024 ")).toBe("hello world 0000");
    expect(promptKey(input("Hello  world 1"))).toBe(promptKey(input("hello world 7")));
    expect(promptKey(input("hello", "sys a"))).not.toBe(promptKey(input("hello", "sys b")));
  });

  it("counts the final question's words as the word pattern does, on ASCII text (scanned in place) and on any other", () => {
    const at = (name: string): number => DENSE_FEATURE_NAMES.indexOf(name);
    const lg = (x: number, scale: number): number => Math.fround(Math.log1p(x) / scale);
    for (const prompt of [
      "snake_case_names and 42 x-ray's, (parenthesised) ... words?",
      "  leading and trailing_  ",
      "",
      "Ünïcödé wörds, naïve café, 日本語 and combining e\u0301 marks",
      "İstanbul ﬁnance: ½ of Ⅻ",
    ]) {
      const words =
        prompt
          .trim()
          .toLowerCase()
          .match(/[\p{L}\p{N}_]+/gu) ?? [];
      const chars = words.reduce((n, w) => n + w.length, 0);
      const long = words.filter((w) => w.length >= 9).length;
      const v = featurize(input(prompt));
      expect(v[at("fq_words")]).toBe(lg(words.length, 7));
      expect(v[at("fq_avg_word")]).toBe(words.length === 0 ? 0 : Math.fround(chars / words.length / 10));
      expect(v[at("fq_long_words")]).toBe(words.length === 0 ? 0 : Math.fround(long / words.length));
      // Distinct words over words: the same with repeated calls (the featurizer reuses its scratch).
      expect(Array.from(featurize(input(prompt)))).toEqual(Array.from(v));
    }
  });

  it("handles a 512-token prompt with a long head and tail", () => {
    const long = "word ".repeat(3000);
    expect(featurize(input(long)).length).toBe(featureSize(DEFAULT_FEATURE_CONFIG));
  });
});

describe("featurizeSparse", () => {
  it("lists each non-zero hashed slot once, with the full vector's value, for every fixture prompt", () => {
    for (const x of analyzerPrompts()) {
      const full = featurize(x);
      const sparse = featurizeSparse(prepareInput(x), DEFAULT_FEATURE_CONFIG);
      expect(Array.from(sparse.dense)).toEqual(Array.from(full.subarray(0, DENSE_SIZE)));
      expect(new Set(sparse.slots).size).toBe(sparse.slots.length);
      const nonZero = full.subarray(DENSE_SIZE).reduce((n, v) => (v === 0 ? n : n + 1), 0);
      expect(sparse.slots.length).toBe(nonZero);
      sparse.slots.forEach((slot, k) => expect(full[DENSE_SIZE + slot]).toBe(sparse.values[k]));
    }
  });

  it("gives the transient features of featurizeSparse, and its own copies outlive the next call", () => {
    const prompts = analyzerPrompts().slice(0, 20);
    const owned = prompts.map((x) => featurizeSparse(prepareInput(x), DEFAULT_FEATURE_CONFIG));
    prompts.forEach((x, i) => {
      const transient = featurizeSparseTransient(prepareInput(x), DEFAULT_FEATURE_CONFIG);
      const copy = { dense: [...transient.dense], slots: [...transient.slots], values: [...transient.values] };
      const mine = owned[i];
      expect(copy).toEqual({
        dense: [...(mine?.dense ?? [])],
        slots: [...(mine?.slots ?? [])],
        values: [...(mine?.values ?? [])],
      });
    });
  });

  it("keys the prepared input as promptKey does", () => {
    const x = input("  Hello\n\nWORLD 2024 ", "be brief");
    expect(prepareInput(x).key).toBe(promptKey(x));
    expect(prepareInput(x).norm).toBe(normalizeText(x.prompt));
  });
});

describe("lexicons", () => {
  it("matches exact words and stems", () => {
    const idx = buildLexiconIndex();
    const bit = (n: string): number => 1 << LEXICON_NAMES.indexOf(n as (typeof LEXICON_NAMES)[number]);
    expect(lexiconMask(idx, "plaintiffs") & bit("legal")).not.toBe(0);
    expect(lexiconMask(idx, "court") & bit("legal")).not.toBe(0);
    expect(lexiconMask(idx, "zzzz")).toBe(0);
    for (const list of idx.prefix.values())
      for (const [stem] of list) expect(stem.length).toBeGreaterThanOrEqual(PREFIX_KEY_LENGTH);
  });
});

describe("boundedInput", () => {
  // Issue 15 #8: a 3.9 MB prompt took ~0.4 s of main-thread time to featurize and key.
  const huge = "word and 12 numbers, then more words. ".repeat(100_000);

  it("featurizes and keys a prompt longer than the bound as its head and tail", () => {
    const long = { prompt: huge, system: "be brief", totalChars: huge.length + 8 };
    const bounded = boundedInput(long);
    expect(bounded.prompt.length).toBeLessThanOrEqual(MAX_INPUT_CHARS);
    expect(bounded.prompt.startsWith(huge.slice(0, 1000))).toBe(true);
    expect(bounded.prompt.endsWith(huge.slice(-1000))).toBe(true);
    expect(Array.from(featurize(long))).toEqual(Array.from(featurize(bounded)));
    expect(promptKey(long)).toBe(promptKey(bounded));
  });

  it("returns the same input when it is within the bound", () => {
    const short = { prompt: "hello", system: "", totalChars: 5 };
    expect(boundedInput(short)).toBe(short);
  });
});
