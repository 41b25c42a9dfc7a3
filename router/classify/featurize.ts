import { hash } from "node:crypto";
import { LEXICON_NAMES, buildLexiconIndex, lexiconMask } from "./lexicons.js";
import type { ClassifyInput } from "./types.js";

/**
 * Featurizer shared by training (analyzer/train) and the runtime (onnx-classifier.ts): a prompt becomes one
 * Float32 vector = [dense hand-made signals | signed hashed word 1-2-grams + char 4-grams]. Pure and deterministic;
 * everything that changes the output is in `FeatureConfig`, which is stored in the model's metadata.json.
 */
export interface FeatureConfig {
  version: 1;
  /** Hashed block has 2^hashBits slots. */
  hashBits: number;
  /** Seed mixed into every hash. */
  hashSeed: number;
  /** Characters of the normalised prompt used for n-grams: the first `headChars` and the last `tailChars`. */
  headChars: number;
  tailChars: number;
  /** Weight of char 4-grams relative to words before L2 normalisation. */
  charWeight: number;
}

export const DEFAULT_FEATURE_CONFIG: FeatureConfig = {
  version: 1,
  hashBits: 14,
  hashSeed: 0x5eed_2024,
  headChars: 2000,
  tailChars: 1000,
  charWeight: 0.5,
};

export const DENSE_FEATURE_NAMES = [
  "len_chars",
  "len_words",
  "len_lines",
  "len_sentences",
  "last_block_chars",
  "avg_word_len",
  "type_token_ratio",
  "digit_ratio",
  "number_count",
  "math_ops",
  "latex",
  "code_fence",
  "code_chars",
  "code_indent",
  "code_keywords",
  "question_marks",
  "starts_with_qword",
  "ends_with_question",
  "options",
  "fewshot",
  "uppercase_ratio",
  "non_ascii_ratio",
  "urls",
  "list_items",
  "quotes",
  "system_chars",
  "context_chars",
  ...LEXICON_NAMES.map((n) => `lex_${n}`),
  // Signals of the final question alone (few-shot exemplars stripped, see `finalQuestion`).
  "fewshot_exemplars",
  "fq_chars",
  "fq_words",
  "fq_options",
  "fq_binary_choice",
  "fq_blank",
  "fq_numeric",
  "fq_code",
  "fq_yesno",
  "fq_factoid",
  "fq_numbers",
  "fq_ops",
  "fq_constraints",
  "fq_reasoning",
  "fq_negation",
  "fq_avg_word",
  "fq_sentences",
  "fq_long_words",
] as const;

export const DENSE_SIZE = DENSE_FEATURE_NAMES.length;

export function featureSize(config: FeatureConfig): number {
  return DENSE_SIZE + (1 << config.hashBits);
}

const LEXICONS = buildLexiconIndex();
const WORD_RE = /[\p{L}\p{N}_]+/gu;
const NON_ASCII_RE = /[^\p{ASCII}]/u;
const NUMBER_RE = /\d+(?:[.,]\d+)*/g;
const OPTION_RE = /^\s*\(?[A-Ea-e][).:]\s/gm;
const FEWSHOT_RE = /(?:^|\n)\s*(?:answer|q|a|question|example|input|output)\s*:/gi;
const LIST_RE = /^\s*(?:[-*•]|\d+[.)])\s/gm;
const URL_RE = /https?:\/\//g;
const LATEX_RE = /\\[a-zA-Z]+|\$/g;
const CODE_KW_RE = /\b(?:def|return|import|class|function|const|let|var|include|public|void|elif|lambda|println)\b/g;
const SENTENCE_RE = /[.!?](?:\s|$)/g;
const EXEMPLAR_ANSWER_RE = /(?:^|\n)\s*(?:answer|a)\s*:\s*\S/gi;
const BLOCK_SPLIT_RE = /\n\s*\n/;
const BLANK_RE = /\s_\s|_{2,}/;
const NUMERIC_ASK_RE = /how (?:many|much)|calculate|compute|what is the (?:value|sum|product|total)|solve/;
const CODE_ASK_RE = /write a (?:python )?function|def \w+\(|```|implement/;
const YESNO_RE = /^(?:is|are|does|do|can|could|was|were|did|has|have|will|would|should)\b/;
const FACTOID_RE = /^(?:who|when|where|what|which)\b/;
const OPS_RE = /[+\-*/^=%<>]/g;
const CONSTRAINT_RE =
  /\b(?:must|should|exactly|at least|at most|each|every|only|all|none|both|neither|unless|except)\b/g;
const REASONING_RE = /\b(?:why|explain|prove|because|therefore|if|then|implies|reason|justify|deduce|infer)\b/g;
const NEGATION_RE = /\b(?:not|no|never|cannot|without)\b|n't\b/g;
const QWORD_RE = /^(?:what|why|how|which|who|whom|whose|when|where|whether|is|are|does|do|can|could|would|should)\b/;

/** Lower-cased, NFKC, whitespace collapsed, digits folded to 0: the text the hashed block and the cache key see. */
export function normalizeText(text: string): string {
  // Only runs of 2+ whitespace or non-space whitespace need replacing: far fewer matches than /\s+/ on prose.
  return text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/\s{2,}|[^\S ]/g, " ")
    .replace(/[1-9]/g, "0")
    .trim();
}

/**
 * Longest prompt (and system prompt) the analyzer reads. A longer one is read as its first three quarters and last
 * quarter of this size: a 4 MB prompt otherwise costs ~0.4 s of main-thread time (issue 15 #8). Every trained
 * prompt is far shorter, so trained models see no difference.
 */
export const MAX_INPUT_CHARS = 32_768;

/** The input within MAX_INPUT_CHARS (the same object when it already is); context size counts what was cut. */
export function boundedInput(input: ClassifyInput): ClassifyInput {
  const prompt = headAndTail(input.prompt);
  const system = headAndTail(input.system);
  if (prompt === input.prompt && system === input.system) return input;
  const removed = input.prompt.length - prompt.length + (input.system.length - system.length);
  return { prompt, system, totalChars: Math.max(0, input.totalChars - removed) };
}

function headAndTail(text: string): string {
  if (text.length <= MAX_INPUT_CHARS) return text;
  const head = (MAX_INPUT_CHARS * 3) / 4;
  return `${text.slice(0, head)}\n${text.slice(text.length - (MAX_INPUT_CHARS - head - 1))}`;
}

/** Stable key of everything that determines a classification (prompt, system prompt, context size bucket). */
export function promptKey(full: ClassifyInput): string {
  return prepareInput(full).key;
}

/**
 * One input as the analyzer reads it: bounded (MAX_INPUT_CHARS), its prompt normalised, and its cache key. The
 * classifier keys its cache and featurizes from the same object, so a cache miss normalises the prompt only once.
 */
export interface PreparedInput {
  readonly input: ClassifyInput;
  /** normalizeText(input.prompt). */
  readonly norm: string;
  /** promptKey(input). */
  readonly key: string;
}

export function prepareInput(full: ClassifyInput): PreparedInput {
  const input = boundedInput(full);
  const norm = normalizeText(input.prompt);
  const context = Math.round(Math.log1p(extraContext(input)) * 4);
  // One-shot crypto.hash: no Hash object per request; the same UTF-8 bytes as updating piece by piece.
  const key = hash("sha1", `${normalizeText(input.system)}\u0000${norm}\u0000${context}`, "base64");
  return { input, norm, key };
}

/**
 * A feature vector without its zeros: the dense block, and the hashed block's non-zero slots with their values.
 * Writing `values` at DENSE_SIZE + `slots` into a zeroed vector gives exactly featurize()'s output, float32 for
 * float32 (the shipped model was trained on those bytes).
 */
export interface SparseFeatures {
  /** DENSE_SIZE values. */
  readonly dense: Float32Array;
  /** Hashed-block slots (0 .. 2^hashBits - 1) with a non-zero value, each once, in no particular order. */
  readonly slots: Int32Array;
  /** The value at each slot. */
  readonly values: Float32Array;
}

/** Allocates and fills a feature vector. */
export function featurize(input: ClassifyInput, config: FeatureConfig = DEFAULT_FEATURE_CONFIG): Float32Array {
  const out = new Float32Array(featureSize(config));
  featurizeInto(out, input, config);
  return out;
}

/** Fills `out` (length featureSize(config)); overwrites every slot. */
export function featurizeInto(out: Float32Array, full: ClassifyInput, config: FeatureConfig): void {
  if (out.length !== featureSize(config))
    throw new Error(`feature buffer has ${out.length} slots, want ${featureSize(config)}`);
  scatter(out, featurizeSparse(prepareInput(full), config));
}

/** Writes sparse features into `out` (a full vector), zeroing every other slot. */
export function scatter(out: Float32Array, features: SparseFeatures): void {
  out.fill(0);
  out.set(features.dense);
  const { slots, values } = features;
  for (let k = 0; k < slots.length; k++) out[DENSE_SIZE + (slots[k] ?? 0)] = values[k] ?? 0;
}

/** The features of a prepared input without the full vector (no 2^hashBits allocation or fill per call). */
export function featurizeSparse(prepared: PreparedInput, config: FeatureConfig): SparseFeatures {
  const f = featurizeSparseTransient(prepared, config);
  return { dense: f.dense.slice(), slots: f.slots.slice(), values: f.values.slice() };
}

const DENSE_SCRATCH = new Float32Array(DENSE_SIZE);

/**
 * featurizeSparse's features in buffers the next call overwrites, for a caller that is done with them before it
 * featurizes again (the JS evaluator, synchronous). A typed array of more than 64 bytes lives outside V8's heap and
 * costs microseconds to allocate; this path allocates none (ADR 5).
 */
export function featurizeSparseTransient(prepared: PreparedInput, config: FeatureConfig): SparseFeatures {
  const { input, norm } = prepared;
  const words = norm.match(WORD_RE) ?? [];
  const hashes = wordHashes(words, config.hashSeed);
  DENSE_SCRATCH.fill(0);
  denseFeatures(DENSE_SCRATCH, input, words, hashes);
  return { dense: DENSE_SCRATCH, ...hashedFeatures(norm, { words, hashes }, config) };
}

let WORD_HASHES = new Uint32Array(1024);

/** hashRange of each word (the hashed block's word hash), in a buffer the next call overwrites. */
function wordHashes(words: readonly string[], seed: number): Uint32Array {
  if (WORD_HASHES.length < words.length) WORD_HASHES = new Uint32Array(words.length * 2);
  for (let i = 0; i < words.length; i++) {
    const w = words[i] ?? "";
    WORD_HASHES[i] = hashRange(w, 0, w.length, seed);
  }
  return WORD_HASHES;
}

function extraContext(input: ClassifyInput): number {
  return Math.max(0, input.totalChars - input.prompt.length - input.system.length);
}

/** Matches of a global regex (none of ours matches the empty string); test() builds no match arrays. */
function count(text: string, re: RegExp): number {
  re.lastIndex = 0;
  let n = 0;
  while (re.test(text)) n++;
  return n;
}

const clip1 = (x: number): number => (x > 1 ? 1 : x);
const lg = (x: number, scale: number): number => Math.log1p(x) / scale;

interface CharStats {
  digits: number;
  upper: number;
  nonAscii: number;
  ops: number;
  codeChars: number;
  questionMarks: number;
  quotes: number;
}

// eslint-disable-next-line complexity -- one pass over the prompt's characters, a branch per character class (hot path)
function charStats(text: string): CharStats {
  const s: CharStats = { digits: 0, upper: 0, nonAscii: 0, ops: 0, codeChars: 0, questionMarks: 0, quotes: 0 };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) s.digits++;
    else if (c >= 65 && c <= 90) s.upper++;
    else if (c > 127) s.nonAscii++;
    else if (c === 43 || c === 45 || c === 42 || c === 47 || c === 94 || c === 61 || c === 37) s.ops++;
    else if (c === 123 || c === 125 || c === 40 || c === 41 || c === 59 || c === 91 || c === 93 || c === 95) {
      s.codeChars++;
    } else if (c === 63) s.questionMarks++;
    else if (c === 34) s.quotes++;
  }
  return s;
}

function lineStats(text: string): { lines: number; indented: number; lastBlock: number } {
  const lines = text.split("\n");
  let indented = 0;
  for (const line of lines) if (line.startsWith("    ") || line.startsWith("\t")) indented++;
  const trimmed = text.trimEnd();
  const lastBreak = trimmed.lastIndexOf("\n\n");
  return { lines: lines.length, indented, lastBlock: trimmed.length - (lastBreak < 0 ? 0 : lastBreak) };
}

/** Writes lg(count, 3) of each lexicon's words at out[at …]. */
function lexiconFeatures(out: Float32Array, at: number, words: readonly string[]): void {
  const counts = LEXICON_SCRATCH.fill(0);
  for (const w of words) {
    let mask = lexiconMask(LEXICONS, w);
    for (let bit = 0; mask !== 0; bit++, mask >>>= 1) if ((mask & 1) === 1) counts[bit] = (counts[bit] ?? 0) + 1;
  }
  for (let k = 0; k < counts.length; k++) out[at + k] = lg(counts[k] ?? 0, 3);
}

const LEXICON_SCRATCH = new Array<number>(LEXICON_NAMES.length).fill(0);
/** Open-addressing table of word indexes + 1 (0: empty) for typeTokenRatio; grows with the longest prompt. */
let DISTINCT_TABLE = new Int32Array(1024);

/**
 * Distinct words over words (0 for none). The words' hashes pick a slot and string equality decides, so the count
 * is exact whatever the hashes collide on; one reused table, cleared per call (a Set's clear() reallocates).
 */
function typeTokenRatio(words: readonly string[], hashes: Uint32Array): number {
  const n = words.length;
  if (n === 0) return 0;
  let size = 64;
  while (size < 2 * n) size <<= 1;
  if (DISTINCT_TABLE.length < size) DISTINCT_TABLE = new Int32Array(size);
  const table = DISTINCT_TABLE;
  table.fill(0, 0, size);
  const mask = size - 1;
  let distinct = 0;
  for (let i = 0; i < n; i++) {
    const w = words[i];
    let slot = (hashes[i] ?? 0) & mask;
    for (;;) {
      const at = table[slot] ?? 0;
      if (at === 0) {
        table[slot] = i + 1;
        distinct++;
        break;
      }
      if (words[at - 1] === w) break;
      slot = (slot + 1) & mask;
    }
  }
  return distinct / n;
}

/**
 * Count, total length and words of 9+ characters of the WORD_RE words of `low`. ASCII text is scanned in place
 * (there, WORD_RE's letters, digits and underscore are [A-Za-z0-9_]): no array of words to build.
 */
function wordStats(low: string): WordStats {
  const s = { words: 0, chars: 0, long: 0 };
  if (NON_ASCII_RE.test(low)) {
    for (const w of low.match(WORD_RE) ?? []) addWord(s, w.length);
    return s;
  }
  let run = 0;
  for (let i = 0; i < low.length; i++) {
    if (isAsciiWordChar(low.charCodeAt(i))) run++;
    else if (run > 0) {
      addWord(s, run);
      run = 0;
    }
  }
  if (run > 0) addWord(s, run);
  return s;
}

interface WordStats {
  words: number;
  chars: number;
  long: number;
}

function addWord(s: WordStats, length: number): void {
  s.words++;
  s.chars += length;
  if (length >= 9) s.long++;
}

function isAsciiWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
}

/**
 * The final question of a few-shot prompt: the blocks after the last completed exemplar ("Answer: X" / "A: X"),
 * skipping a short trailing instruction block; the whole prompt when there are no exemplars.
 */
export function finalQuestion(prompt: string): { text: string; exemplars: number } {
  const t = prompt.trim();
  const exemplars = count(t, EXEMPLAR_ANSWER_RE);
  if (exemplars === 0) return { text: t, exemplars: 0 };
  const blocks = t.split(BLOCK_SPLIT_RE);
  let last = blocks.length - 1;
  while (last > 0 && (blocks[last] ?? "").trim().length < 60 && !/\?|_/.test(blocks[last] ?? "")) last--;
  return { text: blocks.slice(last).join("\n\n"), exemplars };
}

/** Writes the final question's features at out[at …]. */
// eslint-disable-next-line complexity -- a flat feature vector: each ternary is one 0/1 feature, not control flow
function finalQuestionFeatures(out: Float32Array, at: number, prompt: string): void {
  const { text, exemplars } = finalQuestion(prompt);
  const low = text.toLowerCase();
  const { words: nWords, chars, long } = wordStats(low);
  const options = count(text, OPTION_RE);
  const values = [
    lg(exemplars, 2),
    lg(text.length, 8),
    lg(nWords, 7),
    lg(options, 2),
    options === 2 ? 1 : 0,
    BLANK_RE.test(text) ? 1 : 0,
    NUMERIC_ASK_RE.test(low) ? 1 : 0,
    CODE_ASK_RE.test(low) ? 1 : 0,
    YESNO_RE.test(low) ? 1 : 0,
    FACTOID_RE.test(low) && text.length < 120 ? 1 : 0,
    lg(count(text, NUMBER_RE), 4),
    lg(count(text, OPS_RE), 4),
    lg(count(low, CONSTRAINT_RE), 3),
    lg(count(low, REASONING_RE), 3),
    lg(count(low, NEGATION_RE), 3),
    nWords === 0 ? 0 : chars / nWords / 10,
    lg(count(text, SENTENCE_RE), 4),
    nWords === 0 ? 0 : long / nWords,
  ];
  for (let k = 0; k < values.length; k++) out[at + k] = values[k] ?? 0;
}

function denseFeatures(out: Float32Array, input: ClassifyInput, words: readonly string[], hashes: Uint32Array): void {
  const text = input.prompt;
  const n = Math.max(1, text.length);
  const cs = charStats(text);
  const ls = lineStats(text);
  let wordChars = 0;
  for (const w of words) wordChars += w.length;
  const head = text.trimStart().slice(0, 40).toLowerCase();
  const values: number[] = [
    lg(text.length, 8),
    lg(words.length, 7),
    lg(ls.lines, 5),
    lg(count(text, SENTENCE_RE), 5),
    lg(ls.lastBlock, 8),
    words.length === 0 ? 0 : wordChars / words.length / 10,
    typeTokenRatio(words, hashes),
    clip1((cs.digits / n) * 10),
    lg(count(text, NUMBER_RE), 4),
    lg(cs.ops, 4),
    lg(count(text, LATEX_RE), 3),
    text.includes("```") ? 1 : 0,
    clip1((cs.codeChars / n) * 10),
    ls.indented / ls.lines,
    lg(count(text, CODE_KW_RE), 3),
    lg(cs.questionMarks, 2),
    QWORD_RE.test(head) ? 1 : 0,
    text.trimEnd().endsWith("?") ? 1 : 0,
    lg(count(text, OPTION_RE), 2),
    lg(count(text, FEWSHOT_RE), 3),
    cs.upper / n,
    cs.nonAscii / n,
    lg(count(text, URL_RE), 2),
    lg(count(text, LIST_RE), 3),
    lg(cs.quotes, 3),
    lg(input.system.length, 8),
    lg(extraContext(input), 10),
  ];
  // The lexicons and the final question write their blocks in place: no spread arrays per decision.
  for (let i = 0; i < values.length; i++) out[i] = values[i] ?? 0;
  lexiconFeatures(out, values.length, words);
  finalQuestionFeatures(out, values.length + LEXICON_NAMES.length, text);
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hashRange(text: string, start: number, end: number, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = start; i < end; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** Scratch for one featurize call: counts per hashed slot, the list of touched slots, and their final values. */
interface HashScratch {
  counts: Float32Array;
  touched: Int32Array;
  values: Float32Array;
  n: number;
}

const scratchBySize = new Map<number, HashScratch>();

function scratchFor(slots: number, maxTouched: number): HashScratch {
  let s = scratchBySize.get(slots);
  if (s === undefined || s.touched.length < maxTouched) {
    const size = Math.max(maxTouched, 4096);
    s = { counts: new Float32Array(slots), touched: new Int32Array(size), values: new Float32Array(size), n: 0 };
    scratchBySize.set(slots, s);
  }
  s.n = 0;
  return s;
}

function add(s: HashScratch, h: number, mask: number, weight: number): void {
  const slot = h & mask;
  const prev = s.counts[slot] ?? 0;
  if (prev === 0) s.touched[s.n++] = slot;
  // A slot whose signed count returns to 0 is listed twice; the flush below skips the duplicate (count 0).
  s.counts[slot] = prev + (h >>> 31 === 1 ? -weight : weight);
}

function charGrams(s: HashScratch, text: string, mask: number, seed: number, weight: number): void {
  if (text.length < 4) return;
  let c0 = text.charCodeAt(0);
  let c1 = text.charCodeAt(1);
  let c2 = text.charCodeAt(2);
  for (let i = 3; i < text.length; i++) {
    const c3 = text.charCodeAt(i);
    let h = Math.imul(c0 ^ seed, 0x01000193);
    h = Math.imul(h ^ c1, 0x01000193);
    h = Math.imul(h ^ c2, 0x01000193);
    h = Math.imul(h ^ c3, 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    add(s, h >>> 0, mask, weight);
    c0 = c1;
    c1 = c2;
    c2 = c3;
  }
}

/** Math.log1p(k / 2) for small k: a slot's count is a small multiple of 0.5 (words 1, char 4-grams charWeight). */
const LOG1P_HALVES = Float64Array.from({ length: 512 }, (_, k) => Math.log1p(k / 2));

/** Math.log1p, exactly, from the table when x is one of its halves. */
function log1p(x: number): number {
  const k = x * 2;
  return k < 512 && Number.isInteger(k) ? (LOG1P_HALVES[k] ?? Math.log1p(x)) : Math.log1p(x);
}

/**
 * sign(c)*log1p(|c|) of every touched slot, L2-normalised, as (slot, value) pairs (views of the scratch, valid until
 * the next call); clears the counts. Each value is rounded to float32 before it is scaled, then again after, as when
 * it was written into the full vector and scaled there (the trained model's bytes).
 */
function flush(s: HashScratch): { slots: Int32Array; values: Float32Array } {
  const { values } = s;
  let sumSq = 0;
  let unique = 0;
  for (let k = 0; k < s.n; k++) {
    const slot = s.touched[k] ?? 0;
    const v = s.counts[slot] ?? 0;
    if (v === 0) continue;
    const t = v > 0 ? log1p(v) : -log1p(-v);
    values[unique] = t;
    s.counts[slot] = 0;
    s.touched[unique++] = slot;
    sumSq += t * t;
  }
  const slots = s.touched.subarray(0, unique);
  if (sumSq !== 0) {
    const inv = 1 / Math.sqrt(sumSq);
    for (let k = 0; k < unique; k++) values[k] = (values[k] ?? 0) * inv;
  }
  return { slots, values: values.subarray(0, unique) };
}

/** The text windows used for n-grams: head and tail of long prompts. */
function ngramText(norm: string, config: FeatureConfig): string {
  if (norm.length <= config.headChars + config.tailChars) return norm;
  return `${norm.slice(0, config.headChars)} ${norm.slice(norm.length - config.tailChars)}`;
}

function hashedFeatures(
  norm: string,
  all: { words: readonly string[]; hashes: Uint32Array },
  config: FeatureConfig,
): { slots: Int32Array; values: Float32Array } {
  const mask = (1 << config.hashBits) - 1;
  const seed = config.hashSeed;
  const text = ngramText(norm, config);
  // The whole prompt's words were hashed already; a long prompt's head-and-tail window has words of its own.
  const words = text === norm ? all.words : (text.match(WORD_RE) ?? []);
  const hashes = text === norm ? all.hashes : wordHashes(words, seed);
  const s = scratchFor(mask + 1, 2 * words.length + text.length + 1);
  let prev = 0;
  for (let i = 0; i < words.length; i++) {
    const h = hashes[i] ?? 0;
    add(s, h, mask, 1);
    if (i > 0) add(s, fmix32(Math.imul(prev, 0x9e3779b1) ^ h ^ 0x2545f491), mask, 1);
    prev = h;
  }
  charGrams(s, text, mask, seed ^ 0x68e31da4, config.charWeight);
  return flush(s);
}
