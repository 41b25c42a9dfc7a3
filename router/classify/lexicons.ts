/**
 * Hand-written word lists used by the featurizer (dense "lexicon" signals) and by the training script (weak
 * task/domain labels). Words are matched after normalisation (lower case); a list entry ending in "*" matches any
 * word that starts with it (stems have at least PREFIX_KEY_LENGTH characters).
 */

export const LEXICON_NAMES = [
  "legal",
  "medical",
  "finance",
  "science",
  "math",
  "code",
  "summarize",
  "extract",
  "creative",
  "chat",
  "reasoning",
  "translate",
  "constraint",
  "question",
] as const;
export type LexiconName = (typeof LEXICON_NAMES)[number];

const WORDS: Record<LexiconName, string> = {
  legal:
    "law laws legal legally court courts statute* plaintiff* defendant* contract* tort torts liabl* attorney* lawyer* " +
    "judge judges judicial jurisdict* constitution* amendment* litigat* clause clauses lawsuit* appeal appeals " +
    "appellate verdict* regulat* complian* gdpr patent* copyright* trademark* criminal felony prosecut* testimon* " +
    "neglig* indemn* arbitrat* counsel tenant* landlord* lease breach* statutory precedent* ordinance* hearsay " +
    "rights infring* warrant* custody damages injunct* lien legislat* supreme",
  medical:
    "patient* diagnos* symptom* disease* treatment* clinic* drug drugs dose doses dosage* therap* syndrome* " +
    "infect* physician* doctor* nurse* hospital* medicat* chronic acute cancer* tumor* tumour* diabet* cardi* " +
    "blood pain surgery surgical vaccin* prescri* pharmac* antibiot* mg kg disorder* medical medicine* health " +
    "pathogen* virus viral bacteri* immun* insulin hypertens* fever anatom* organ organs kidney* liver lung lungs " +
    "neuro* psychiat* pediatr* allerg* inflamm* lesion* biopsy",
  finance:
    "stock stocks bond bonds invest* portfolio* dividend* interest loan loans mortgage* tax taxes taxat* revenue* " +
    "profit* earning* equity equities asset assets account* balance cash inflation gdp bank banks banking credit " +
    "debt debts fiscal monetary valuat* roi capital budget* financ* economic* economy price prices pricing market " +
    "markets trading trader* hedge* derivative* liquidity yield yields insur* pension* expense* depreciat* amortiz* " +
    "audit* ledger* payroll* shareholder* ipo",
  science:
    "cell cells atom atoms atomic molecul* energy force forces gravit* species organism* chemical* chemistry " +
    "reaction* electron* photosynth* ecosystem* planet* experiment* hypothes* dna rna gene genes genetic* protein* " +
    "physics physical biology biolog* temperature mass velocity acid acids quantum particle* nucleus evolut* " +
    "magnet* electric* wavelength* orbit* climate fossil* mineral* enzyme* compound* solution* pressure density " +
    "heat light sound wave waves bacteria nutrient* habitat* ecolog* geolog* astronom* thermodynam* kinetic* ion ions",
  math:
    "equation* integer* prime primes sum product fraction* probabilit* derivativ* integral* polynomial* theorem* " +
    "prove proof triangle* angle angles radius matrix matrices vector* divisible remainder* solve calculate* " +
    "compute computed algebra* geometr* arithmetic* percent* ratio ratios digit digits median mean average " +
    "factorial* logarithm* exponent* quadratic* perimeter area volume sqrt modulo infinite* sequence* series " +
    "combinat* permutat* coefficient* real rational irrational numerator denominator",
  code:
    "function* code coding python javascript typescript java golang rust c++ def return class classes import " +
    "variable* array arrays string strings list lists bug bugs error errors compil* api apis sql regex algorithm* " +
    "implement* loop loops json yaml script* debug* refactor* runtime exception* null boolean integer* recursion " +
    "recursive* lambda async await dict dictionary tuple* struct* method* library libraries npm pip docker " +
    "kubernetes git repo repository http endpoint* query queries database* unittest* test tests",
  summarize:
    "summarize summarise summarizing summarising summary summaries summarization tl;dr tldr condense* recap " +
    "gist overview abstract outline* shorten* brief briefly",
  extract:
    "extract* parse parsing entities entity fields field identify* list tabulate table tables csv json " +
    "pull* names dates emails addresses mention* occurrences keywords",
  creative:
    "story stories poem poems poetry lyric* haiku* creative* imagine* fiction* fictional character* novel " +
    "song songs slogan* rhyme* limerick* sonnet* fairy tale tales script screenplay* dialogue* narrat* metaphor* " +
    "sentence sentences compose",
  chat:
    "hi hello hey thanks thank please chat chatting you your yourself opinion feel feeling favorite favourite " +
    "recommend* suggest* advice tips help",
  reasoning:
    "why because therefore thus hence logic* logical* puzzle* infer* deduc* clue clues conclude* conclusion* " +
    "explain* reason* reasoning justify* analy* compare* evaluat* step steps implies assume* assumption* " +
    "contradict* valid* argument* premise* consequen* determine*",
  translate: "translate* translation* french spanish german chinese japanese english italian portuguese russian korean",
  constraint:
    "must should exactly least most only without avoid ensure require* format formatted limit* maximum minimum " +
    "words word bullet* numbered concise strictly never always include* exclude* within",
  question: "what why how which who whom whose when where whether is are does do can could would",
};

export interface LexiconIndex {
  /** Exact word -> bitmask of lexicons. */
  readonly exact: ReadonlyMap<string, number>;
  /** PREFIX_KEY_LENGTH-character word prefix -> list of [stem, bitmask] for "*" entries. */
  readonly prefix: ReadonlyMap<string, readonly (readonly [string, number])[]>;
}

export const PREFIX_KEY_LENGTH = 4;

/** Builds the lookup tables once (module load). */
export function buildLexiconIndex(): LexiconIndex {
  const exact = new Map<string, number>();
  const prefix = new Map<string, [string, number][]>();
  LEXICON_NAMES.forEach((name, bit) => {
    for (const entry of WORDS[name].split(/\s+/)) {
      if (entry.length === 0) continue;
      const mask = 1 << bit;
      if (entry.endsWith("*")) {
        const stem = entry.slice(0, -1);
        const key = stem.slice(0, PREFIX_KEY_LENGTH);
        const list = prefix.get(key) ?? [];
        list.push([stem, mask]);
        prefix.set(key, list);
      } else {
        exact.set(entry, (exact.get(entry) ?? 0) | mask);
      }
    }
  });
  return { exact, prefix };
}

/** Bitmask of the lexicons a (normalised) word belongs to; 0 when none. */
export function lexiconMask(index: LexiconIndex, word: string): number {
  let mask = index.exact.get(word) ?? 0;
  if (word.length < PREFIX_KEY_LENGTH) return mask;
  const candidates = index.prefix.get(word.slice(0, PREFIX_KEY_LENGTH));
  if (candidates === undefined) return mask;
  for (const [stem, bit] of candidates) {
    if (word.startsWith(stem)) mask |= bit;
  }
  return mask;
}
