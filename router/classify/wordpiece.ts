/**
 * A small BERT WordPiece tokenizer (vocab.txt: one token per line, id = line number): basic tokenization (optional
 * lower-casing and accent stripping, split on whitespace and punctuation, CJK characters as words), then greedy
 * longest-match-first sub-words with the "##" continuation prefix.
 */
export interface WordPieceOptions {
  lowercase: boolean;
  /** Max tokens including [CLS] and [SEP]. */
  maxLength: number;
  maxCharsPerWord?: number;
}

export interface Encoded {
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  tokenTypeIds: BigInt64Array;
}

const PUNCT = /[\p{P}\p{S}]/u;
const CJK = /[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff]/u;

export class WordPieceTokenizer {
  private readonly vocab: Map<string, number>;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;

  constructor(
    vocabText: string,
    private readonly options: WordPieceOptions,
  ) {
    this.vocab = new Map();
    vocabText.split(/\r?\n/).forEach((tok, i) => {
      if (tok.length > 0 && !this.vocab.has(tok)) this.vocab.set(tok, i);
    });
    const need = (t: string): number => {
      const id = this.vocab.get(t);
      if (id === undefined) throw new Error(`vocab has no ${t} token`);
      return id;
    };
    this.unkId = need("[UNK]");
    this.clsId = need("[CLS]");
    this.sepId = need("[SEP]");
    if (options.maxLength < 2) throw new Error("maxLength must be at least 2");
  }

  /** Words after basic tokenization. */
  basicTokens(text: string): string[] {
    let t = text.normalize("NFC");
    if (this.options.lowercase)
      t = t
        .toLowerCase()
        .normalize("NFD")
        .replace(/\p{Mn}/gu, "");
    const words: string[] = [];
    let current = "";
    const flush = (): void => {
      if (current.length > 0) words.push(current);
      current = "";
    };
    for (const ch of t) {
      if (/\s/u.test(ch)) flush();
      else if (PUNCT.test(ch) || CJK.test(ch)) {
        flush();
        words.push(ch);
      } else current += ch;
    }
    flush();
    return words;
  }

  /** Sub-word ids of one word ([UNK] when it cannot be split). */
  wordIds(word: string): number[] {
    const chars = Array.from(word);
    if (chars.length > (this.options.maxCharsPerWord ?? 100)) return [this.unkId];
    const ids: number[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: number | undefined;
      while (start < end) {
        const piece = (start > 0 ? "##" : "") + chars.slice(start, end).join("");
        found = this.vocab.get(piece);
        if (found !== undefined) break;
        end--;
      }
      if (found === undefined) return [this.unkId];
      ids.push(found);
      start = end;
    }
    return ids;
  }

  encode(text: string): Encoded {
    const ids: number[] = [this.clsId];
    const budget = this.options.maxLength - 1;
    for (const w of this.basicTokens(text)) {
      for (const id of this.wordIds(w)) {
        if (ids.length >= budget) break;
        ids.push(id);
      }
      if (ids.length >= budget) break;
    }
    ids.push(this.sepId);
    return {
      inputIds: BigInt64Array.from(ids.map(BigInt)),
      attentionMask: new BigInt64Array(ids.length).fill(1n),
      tokenTypeIds: new BigInt64Array(ids.length),
    };
  }
}
