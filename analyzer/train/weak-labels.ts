import type { Domain, Task } from "../../router/config/types.js";
import { buildLexiconIndex, lexiconMask, LEXICON_NAMES } from "../../router/classify/lexicons.js";

/**
 * Task/domain labels for training rows.
 * - Rows whose benchmark is recorded (RouterBench, RouteProfile) get the benchmark's label (`BENCHMARK_LABELS`).
 * - LLMRouter rows carry no benchmark name: `detectFamily` recognises the benchmark family from the prompt's
 *   format (regular expressions written from the documented task mix), and the domain of open QA comes from the
 *   lexicons when a prompt hits a domain lexicon at least twice.
 */
export type Family =
  "logic-grid" | "code" | "math-competition" | "math-word" | "reading" | "science" | "open-qa" | "synthetic";

export interface Labels {
  task: Task;
  domain: Domain;
  family: Family;
}

export const BENCHMARK_LABELS: Record<string, Labels> = {
  "arc-challenge": { task: "qa", domain: "science", family: "science" },
  arc_challenge: { task: "qa", domain: "science", family: "science" },
  openbook_qa: { task: "qa", domain: "science", family: "science" },
  mbpp: { task: "code", domain: "code", family: "code" },
  human_eval: { task: "code", domain: "code", family: "code" },
  winogrande: { task: "reasoning", domain: "general", family: "open-qa" },
  "agentverse-logicgrid": { task: "reasoning", domain: "general", family: "logic-grid" },
  "agentverse-mgsm": { task: "math", domain: "math", family: "math-word" },
  gsm8k: { task: "math", domain: "math", family: "math-word" },
  commongen: { task: "creative", domain: "general", family: "open-qa" },
  natural_qa: { task: "qa", domain: "general", family: "open-qa" },
  trivia_qa: { task: "qa", domain: "general", family: "open-qa" },
  commonsense_qa: { task: "qa", domain: "general", family: "open-qa" },
  mmlu: { task: "qa", domain: "general", family: "open-qa" },
};

const LEX = buildLexiconIndex();
const DOMAIN_LEXICONS = ["legal", "medical", "finance", "science"] as const;

function lexiconHits(text: string): Record<string, number> {
  const hits: Record<string, number> = {};
  for (const w of text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []) {
    const mask = lexiconMask(LEX, w);
    LEXICON_NAMES.forEach((name, bit) => {
      if ((mask & (1 << bit)) !== 0) hits[name] = (hits[name] ?? 0) + 1;
    });
  }
  return hits;
}

/** The domain lexicon with the most hits (>= 2), else `fallback`. */
export function lexiconDomain(text: string, fallback: Domain): Domain {
  const hits = lexiconHits(text);
  let best: Domain = fallback;
  let bestHits = 1;
  for (const d of DOMAIN_LEXICONS) {
    const h = hits[d] ?? 0;
    if (h > bestHits) {
      best = d;
      bestHits = h;
    }
  }
  return best;
}

/** Prompt-format rules for rows without a benchmark name, in order: the first that matches names the family. */
const FAMILY_RULES: readonly { family: Family; matches: (p: string) => boolean }[] = [
  { family: "logic-grid", matches: (p) => /there are \d+ houses/i.test(p) },
  { family: "code", matches: (p) => /^(from typing|import |def )/m.test(p) && /def \w+\(/.test(p) },
  { family: "code", matches: (p) => /^write a (python )?function/i.test(p) },
  { family: "math-competition", matches: (p) => /\$[^$]+\$|\\frac|\\boxed|\\sqrt/.test(p) },
  {
    family: "math-word",
    matches: (p) =>
      (p.match(/\d+(?:\.\d+)?/g) ?? []).length >= 2 &&
      p.length < 900 &&
      /how (many|much)|total|each|per |\$\d|percent|%/i.test(p),
  },
  { family: "reading", matches: (p) => p.length > 500 },
  { family: "science", matches: (p) => (lexiconHits(p)["science"] ?? 0) >= 2 },
];

export function detectFamily(prompt: string): Family {
  const p = prompt.trim();
  return FAMILY_RULES.find((r) => r.matches(p))?.family ?? "open-qa";
}

const FAMILY_LABELS: Record<Family, { task: Task; domain: Domain }> = {
  "logic-grid": { task: "reasoning", domain: "general" },
  code: { task: "code", domain: "code" },
  "math-competition": { task: "math", domain: "math" },
  "math-word": { task: "math", domain: "math" },
  reading: { task: "qa", domain: "general" },
  science: { task: "qa", domain: "science" },
  "open-qa": { task: "qa", domain: "general" },
  synthetic: { task: "chat", domain: "general" },
};

/** Labels for a data row: benchmark metadata when present, prompt-format weak labels otherwise. */
export function labelRow(prompt: string, benchmark: string | null): Labels {
  const known = benchmark === null ? undefined : BENCHMARK_LABELS[benchmark];
  if (known !== undefined) {
    if (known.domain !== "general") return known;
    return { ...known, domain: lexiconDomain(prompt, "general") };
  }
  const family = detectFamily(prompt);
  const base = FAMILY_LABELS[family];
  const domain = base.domain === "general" ? lexiconDomain(prompt, "general") : base.domain;
  return { task: base.task, domain, family };
}
