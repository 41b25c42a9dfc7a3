import { writeFileSync } from "node:fs";
import type { ClassifierMetadata } from "../../router/classify/model-metadata.js";
import { PER_BENCHMARK_PAIR_NAMES } from "./held-out-pairs.js";
import type { Accuracy, DifficultyRange, EverydayReport } from "../eval/everyday.js";
import type { PairResult } from "./report.js";
import { pairTableMarkdown } from "./report.js";

function pct(v: unknown): string {
  return typeof v === "number" ? `${(v * 100).toFixed(1)}%` : "–";
}

type CvRow = { family: number; random: number; unseen: number | null; score: number };

function num(v: number | null): string {
  return v === null || !Number.isFinite(v) ? "–" : v.toFixed(3);
}

/** Validation APGR per variant@blend (the table the variant was picked from). */
function cvTable(cv: unknown, picked: string): string {
  if (typeof cv !== "object" || cv === null) return "";
  const rows = Object.entries(cv as Record<string, CvRow>).sort((a, b) => b[1].score - a[1].score);
  return [
    "| variant@blend | leave-one-family-out | random folds | unseen source (RouterBench train) | score (mean) |",
    "|---|---|---|---|---|",
    ...rows.map(
      ([k, r]) =>
        `| ${k === picked ? `**${k}** (picked)` : k} | ${num(r.family)} | ${num(r.random)} | ${num(r.unseen)} | ${num(r.score)} |`,
    ),
  ].join("\n");
}

/** One honest line on router vs prompt length over the whole-set held-out pairs (per-benchmark rows left out). */
function versusLength(pairs: readonly PairResult[]): string {
  const whole = pairs.filter((p) => !PER_BENCHMARK_PAIR_NAMES.has(p.name));
  const margin = (p: PairResult): number => (p.router.apgr ?? 0) - (p.promptLength.apgr ?? 0);
  const wins = whole.filter((p) => margin(p) > 0);
  const close = whole.filter((p) => Math.abs(margin(p)) < 0.02);
  const belowRandom = whole.filter((p) => (p.router.apgr ?? 0) < 0.5);
  const who = (ps: readonly PairResult[]): string =>
    ps.map((p) => `${p.name}: ${p.strong} vs ${p.weak}`).join("; ") || "none";
  return (
    `Against the prompt-length router on the ${whole.length} whole-set held-out pairs above, the difficulty head ` +
    `wins ${wins.length} and loses ${whole.length - wins.length}; ${close.length} of them are within 0.02 APGR ` +
    `(noise at n ≈ 500-950). Below random (APGR < 0.5) on: ${who(belowRandom)} — where the weak model's failures ` +
    "are model-specific (e.g. answer format) or the benchmark mix rewards an ordering the prompt text does not " +
    "show, a prompt-only difficulty estimate has little to go on."
  );
}

function labelLine(name: string, v: unknown): string {
  if (typeof v !== "object" || v === null) return "";
  const o = v as Record<string, unknown>;
  return `| ${name} | ${String(o["n"])} | ${pct(o["task"])} | ${String(o["domainN"])} | ${pct(o["domain"])} |`;
}

/** What the card is written from: the metadata, the model size, and the difficulty head's kind. */
interface CardFacts {
  meta: ClassifierMetadata;
  t: Record<string, unknown>;
  bytes: number;
  pairs: PairResult[];
  head: string;
  mlp: boolean;
  chatPrior: string | null;
  chatAnchor: string | null;
}

function cardFacts(meta: ClassifierMetadata, bytes: number): CardFacts {
  const t = meta.training;
  const head = typeof t["difficultyHead"] === "string" ? t["difficultyHead"] : "linear";
  return {
    meta,
    t,
    bytes,
    pairs: (meta.metrics["pairs"] ?? []) as PairResult[],
    head,
    mlp: head !== "linear",
    chatPrior: typeof t["chatPrior"] === "string" && t["chatPrior"] !== "none" ? t["chatPrior"] : null,
    chatAnchor: typeof t["chatCalibrationAnchor"] === "string" ? t["chatCalibrationAnchor"] : null,
  };
}

function featureCount(meta: ClassifierMetadata): string {
  return String(meta.inputs[0]?.shape[1] ?? "?");
}

function irtModelCount(t: Record<string, unknown>): string {
  return String(Object.keys((t["irt"] as { models?: object } | undefined)?.models ?? {}).length);
}

function irtAnchorNote(t: Record<string, unknown>): string {
  return (t["irt"] as { anchor?: string } | undefined)?.anchor ?? "";
}

function denseClipBound(t: Record<string, unknown>): string {
  return String((t["denseStandardization"] as { clip?: number } | undefined)?.clip ?? "?");
}

function mlpGraphNote(f: CardFacts): string {
  return f.mlp
    ? `, plus a small MLP difficulty head in the same graph (\`Slice\` of the dense block → \`Gemm\` → \`Relu\` → \`Gemm\`, added to the difficulty logit): ${f.head}`
    : "";
}

function chatPriorNote(f: CardFacts): string {
  return f.chatPrior === null
    ? ""
    : `
  _Chit-chat prior_: ${f.chatPrior}. These are template prompts, not measured routing outcomes: a stated prior that
  greetings and small talk gain nothing from a stronger model, so very short conversational prompts get a low
  difficulty.`;
}

function chatAnchorNote(f: CardFacts): string {
  return f.chatAnchor === null
    ? ""
    : `
  _Chit-chat calibration anchor_ (a stated prior, not measured routing outcomes): ${f.chatAnchor}. Benchmark prompts
  alone put greetings at the bottom of the ranking but not low on the absolute scale (no benchmark item is that
  easy).${f.chatPrior === null ? ' A "+chat" variant that also trains the ranking on these prompts (target 0) was scored in validation above and not picked.' : ""}`;
}

function mlpLimitNote(f: CardFacts): string {
  return f.mlp
    ? `- The MLP head's validation scores vary with hidden size and seed more than the linear heads' do (see the
  variant table: the unseen-source fold differs by > 0.1 APGR between hidden sizes); treat small APGR differences
  as noise.
`
    : "";
}

/** The header and what the model is: features, heads, how difficulty is trained and scaled. */
function whatItIs(f: CardFacts): string {
  const { meta, t, bytes } = f;
  return `# Routewise built-in request analyzer (\`model.onnx\`)

Generated by \`analyzer/train/train.ts\` (\`npm run train\`) — do not edit by hand; re-run training instead.

## What it is

One linear layer (ONNX \`Gemm\`, ${(bytes / 1e6).toFixed(2)} MB) over ${featureCount(meta)} features from
\`router/classify/featurize.ts\` (${meta.denseFeatureNames.length} hand-made signals + 2^${meta.feature.hashBits} signed hashed
word 1-2-grams and char 4-grams)${mlpGraphNote(f)}, with three heads:

- **difficulty** (sigmoid, then the calibration table in metadata.json). _Ranking_: the head is trained on the
  ${String(t["difficultyTarget"])
    .replace(/^ranking: /, "")
    .replace(/; calibrated output.*$/, "")}
  (how often a weaker model falls short where a stronger one succeeds), rows weighted 1/sqrt(benchmark-family size),
  plus a length prior blended into
  the logit (logit + blend · z(log prompt length)). Features include signals of the _final question_ with few-shot
  exemplars stripped (answer format, options, blanks, numbers, constraints, reasoning words). _Scale_: the output is
  mapped by a strictly increasing isotonic table (fitted on validation rows) onto the 2PL IRT item difficulty b of the
  training prompts (fitted over ${irtModelCount(t)} models; ${irtAnchorNote(t)}),
  i.e. the scale of \`router/select/quality.ts\` (b = −2 + 8·difficulty). The IRT b itself is _not_ used as the
  ranking target: ranked by b, the hardest prompts (which every model fails) go to the strong model first and gain
  nothing, which scored below random in validation. Variant **${String(t["difficultyVariant"])}**, length blend
  **${String(t["difficultyLengthBlend"])}**, picked on validation only (${String(t["validationNote"])}); mean APGR
  per variant@blend in the table below. The \`/all-pairs\` variants train on the mean gain over _all_
  stronger/weaker training-model pairs (including pairs of two weak models), the others on the gain of the strongest
  training model over each weaker one.${chatPriorNote(f)}${chatAnchorNote(f)}
- **Dense clipping**: the standardised hand-made features are clipped to ±${denseClipBound(t)} (in training and, as
  \`Max\`/\`Min\` with per-feature bounds, in the graph before every head). A prompt unlike the training data (a
  25-shot prompt when training had none: z ≈ 1000) then stays in the range the heads were fitted on instead of
  driving them to an extreme.
- **task** (${meta.labels.task.join(", ")}) and **domain** (${meta.labels.domain.join(", ")}) softmax heads.
- **confidence** = sqrt(max task prob × max domain prob): low on prompts unlike anything seen in training.

`;
}

/** The validation table the difficulty variant was picked from. */
function variantTable(f: CardFacts): string {
  const { t } = f;
  return `### Validation APGR of the difficulty variants

Mean APGR of the strongest training model vs each weaker one (LLMRouter folds) and GPT-4-1106 vs Mixtral, GPT-3.5
and Llama-2-70b (RouterBench train, never fitted). \`length\` is a head on the length features only;
\`length-baseline\` ranks by raw prompt length.

${cvTable(t["crossValidationApgr"], `${String(t["difficultyVariant"])}@${String(t["difficultyLengthBlend"])}`)}

`;
}

/** Training data, labels and their licences. */
function trainingData(f: CardFacts): string {
  const { t } = f;
  return `## Training data and licences

- Shipped model: LLMRouter (ulab-uiuc/LLMRouter, **MIT**) train split only (${String(t["fitRows"])} fit rows,
  ${String(t["validationRows"])} validation rows held out from it, seed ${String(t["seed"])}); data file sha256 \`${String(t["dataSha256"])}\`.
  Sources used: ${JSON.stringify(t["sources"])}.
- Models whose mean score is below 0.3 (llama3-chatqa-1.5-8b/70b, codegemma-7b) are left out of the pairs: they
  mostly fail on answer format, which says little about prompt difficulty.
- Task/domain labels: benchmark names where the data has them; LLMRouter rows have none, so the benchmark family is
  recognised from the prompt format (\`analyzer/train/weak-labels.ts\`: logic-grid puzzles, code stubs, LaTeX maths,
  numeric word problems, long reading passages, science, open QA) and the domain of QA comes from the lexicons
  (\`router/classify/lexicons.ts\`, ≥ 2 hits). Labels absent from the data (chat, summarization, extraction, creative,
  plain-text maths; legal, medical, finance) come from ${String(t["syntheticLabelRows"])} template prompts
  (\`analyzer/train/synthetic.ts\`) that train only the task/domain heads, as do ${String(t["fewShotRows"])},
  and ${String(t["everydayTemplateRows"])}: imperative and question-form requests composed from slots (code in 20
  languages, configs, queries, fixes of pasted snippets; maths with drawn numbers and proofs; puzzles, syllogisms and
  plans; domain questions; summaries and extractions of composed documents; creative forms; chat). Class weights of
  both heads: ${String(t["labelClassWeights"])}.
- Not used for training: RouteProfile (MIT, only a test split exists) and RouterBench-subset (no data licence:
  evaluation only). Both are held out below, as is LLMRouter's own test split.
- Calibration: isotonic regression (made strictly increasing so it never creates ties) on the validation split;
  never on a test split. RouterBench's train split is used only to score the candidate variants (never fitted).

`;
}

/** Held-out routing quality (the held-out pair table). */
function heldOutRouting(f: CardFacts): string {
  const { pairs } = f;
  return `## Held-out routing quality

Per row the router sends the prompts with the highest difficulty to the strong model first. **Router** in bold, then
prompt-length router (longer prompts first), random, and per-prompt oracle. APGR: random = 0.5. CPT(x%): share of
strong calls needed to recover x% of the weak→strong gap (random = x%). $ saving: vs always-strong, at 95% of the
strong model's quality (RouterBench costs are recorded per call; LLMRouter's are estimated from prompt length ×
price + 256 output tokens; RouteProfile rows carry no prices here). RouteProfile MBPP/HumanEval are excluded (all
models score ~0 there, see its README).

${pairTableMarkdown(pairs)}
`;
}

/** Task / domain accuracy on held-out benchmark labels. */
function labelAccuracySection(f: CardFacts): string {
  const { meta } = f;
  return `## Task / domain accuracy on held-out benchmark labels

| test set | n | task acc. | n (domain) | domain acc. |
|---|---|---|---|---|
${labelLine("RouteProfile test", meta.metrics["labelsRouteProfileTest"])}
${labelLine("RouterBench-subset test", meta.metrics["labelsRouterBenchTest"])}

RouteProfile MMLU rows have no subject here, so they count for the task only. RouterBench labels: ARC → qa/science,
MBPP → code/code, Winogrande → reasoning/general; RouteProfile: see \`BENCHMARK_LABELS\` in weak-labels.ts.

`;
}

function accLine(name: string, a: Accuracy | undefined): string {
  return a === undefined ? "" : `| ${name} | ${a.n} | ${pct(a.task)} | ${pct(a.domain)} |`;
}

function accTable(title: string, rows: Record<string, Accuracy>): string {
  return [
    `| ${title} | n | task acc. | domain acc. |`,
    "|---|---|---|---|",
    ...Object.entries(rows).map(([k, a]) => accLine(k, a)),
  ].join("\n");
}

function rangeTable(title: string, rows: Record<string, DifficultyRange>): string {
  return [
    `| ${title} | n | min | p10 | p25 | median | p75 | p90 | max |`,
    "|---|---|---|---|---|---|---|---|---|",
    ...Object.entries(rows).map(
      ([k, r]) =>
        `| ${k} | ${r.n} | ${r.min.toFixed(3)} | ${r.p10.toFixed(3)} | ${r.p25.toFixed(3)} | ${r.median.toFixed(3)} | ${r.p75.toFixed(3)} | ${r.p90.toFixed(3)} | ${r.max.toFixed(3)} |`,
    ),
  ].join("\n");
}

function confusionList(c: EverydayReport["taskConfusions"]): string {
  return c.map((x) => `${x.label} → ${x.predicted} (${x.n})`).join(", ") || "none";
}

/** The everyday labelled set (evaluation only). */
function everydaySection(f: CardFacts): string {
  const e = f.meta.metrics["everyday"] as EverydayReport | undefined;
  if (e === undefined) return "";
  const overall: Record<string, Accuracy> = {
    all: e.all,
    ...Object.fromEntries(Object.entries(e.bySplit).map(([k, a]) => [`split ${k}`, a])),
    ...Object.fromEntries(Object.entries(e.byKind).map(([k, a]) => [`kind ${k}`, a])),
    ...Object.fromEntries(Object.entries(e.instructionsBySplit).map(([k, a]) => [`instructions, split ${k}`, a])),
  };
  return `## Everyday requests (task / domain accuracy)

\`analyzer/everyday/everyday.jsonl\`: ${e.all.n} hand-written requests as a new user would send them (instructions,
questions, chat; pasted documents, code blocks), labelled with the task and domain a rule author would expect (label
definitions in \`analyzer/everyday/README.md\`). **An evaluation set only: training never reads it.** The everyday
template generator was written after looking at the failures of the _dev_ split (so dev numbers are optimistic);
the _test_ split was only ever scored. Per-task rows: accuracy of the rows labelled with that task (task accuracy
= recall of the task).

${accTable("rows", overall)}

${accTable("labelled task", e.byTask)}

${accTable("labelled domain", e.byDomain)}

Most frequent task errors (label → predicted): ${confusionList(e.taskConfusions)}.
Most frequent domain errors: ${confusionList(e.domainConfusions)}.

Calibrated difficulty of the rows classified as their labelled task (what a \`tasks:\` + \`difficulty:\` rule sees),
and of the code rows by the writer's difficulty hint. Set rule thresholds from these quantiles
(\`examples/routes.yaml\` does).

${rangeTable("task", e.difficultyByTask)}

${rangeTable("code rows, hint", e.codeDifficultyByHint)}

`;
}

/** Known limits. */
function knownLimits(f: CardFacts): string {
  const { pairs } = f;
  return `## Known limits

- Trained on ~6k short benchmark prompts; real chat traffic (multi-turn, long system prompts, tool calls) is out of
  distribution. The hashed n-grams mostly serve the task/domain heads; difficulty generalises only as far as the
  hand-made signals (length, digits/operators, code, options, reasoning words, domain lexicons) carry.
- Difficulty ranks prompts by expected strong-minus-weak gain; its calibrated value is only a coarse IRT difficulty
  (the table's dynamic range is small). Use thresholds from validation quantiles, not 0.5.
${mlpLimitNote(f)}- ${versusLength(pairs)}
- Task/domain labels for chat, summarization, extraction, creative, legal, medical and finance, and everyday
  (non-benchmark) phrasings of every task, are learnt from templates only; expect them to be right on clear-cut
  prompts and unreliable otherwise (see the everyday set's per-task table: reasoning puzzles with numbers often go
  to maths, and domain questions without domain words go to general).
- English only; no multilingual data.
`;
}

const SECTIONS = [
  whatItIs,
  variantTable,
  trainingData,
  heldOutRouting,
  labelAccuracySection,
  everydaySection,
  knownLimits,
];

/** MODEL_CARD.md, regenerated by every training run from the metadata it wrote. */
export function writeModelCard(path: string, meta: ClassifierMetadata, bytes: number): void {
  const f = cardFacts(meta, bytes);
  writeFileSync(path, SECTIONS.map((section) => section(f)).join(""));
}
