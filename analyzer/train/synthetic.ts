import type { Domain, Task } from "../../router/config/types.js";
import { pick } from "./rng.js";

/**
 * Weakly labelled, template-generated prompts for labels the routing data does not contain (chat, summarization,
 * extraction, creative writing, plain-text maths; legal, medical and finance domains). They train the task and domain
 * heads; the chat templates also anchor the difficulty calibration (and the "+chat" validation variants), see
 * train.ts. Passages are drawn from the training split's own long prompts.
 */
export interface SyntheticRow {
  prompt: string;
  task: Task;
  domain: Domain;
}

const TOPICS: Record<Domain, readonly string[]> = {
  general: [
    "travel",
    "cooking",
    "gardening",
    "sports",
    "music",
    "movies",
    "history",
    "weather",
    "pets",
    "a birthday party",
  ],
  code: [
    "a REST API",
    "a Python script",
    "a SQL query",
    "a React component",
    "a bash script",
    "a unit test",
    "a regex",
  ],
  science: [
    "photosynthesis",
    "black holes",
    "plate tectonics",
    "the immune system",
    "climate change",
    "DNA replication",
  ],
  math: ["prime numbers", "a quadratic equation", "probability of dice", "the area of a circle", "compound growth"],
  legal: [
    "a residential lease",
    "an employment contract",
    "a non-disclosure agreement",
    "GDPR compliance",
    "a copyright claim",
    "small claims court",
    "a breach of contract",
    "a will and probate",
    "tenant rights",
    "a liability waiver",
  ],
  medical: [
    "type 2 diabetes",
    "high blood pressure",
    "a migraine",
    "antibiotic dosage for children",
    "symptoms of pneumonia",
    "a knee surgery recovery",
    "drug interactions with ibuprofen",
    "a patient's MRI report",
    "seasonal allergies",
    "vaccination schedules",
  ],
  finance: [
    "an index fund portfolio",
    "a mortgage refinance",
    "quarterly earnings",
    "a balance sheet",
    "capital gains tax",
    "a startup's cash flow",
    "bond yields and inflation",
    "retirement savings",
    "a company's valuation",
    "credit card debt",
  ],
};

type TemplateTask = "chat" | "summarization" | "extraction" | "creative" | "math";

const TASK_TEMPLATES: Record<TemplateTask, readonly string[]> = {
  chat: [
    "hi",
    "hello",
    "hey!",
    "thanks!",
    "thank you so much",
    "ok, got it",
    "how are you?",
    "bye, talk later",
    "Hi! How are you doing today?",
    "Hey, can you help me with something about {topic}?",
    "Thanks for the help earlier. What do you think about {topic}?",
    "I'm feeling a bit bored. Any ideas for what to do this weekend?",
    "What's your favorite thing about {topic}?",
    "Can you recommend a good book about {topic}?",
    "hello there",
    "Good morning! Any tips for {topic}?",
    "lol that's funny. tell me more about {topic}",
    "I need some advice about {topic}, can we chat?",
  ],
  summarization: [
    "Summarize the following text in three sentences:\n\n{passage}",
    "TL;DR:\n{passage}",
    "Please write a short summary of this article.\n\n{passage}",
    "{passage}\n\nSummarize the passage above in one paragraph.",
    "Give me the key points of the following document as bullet points:\n{passage}",
    "Condense this into a brief overview for an executive:\n{passage}",
    "Can you summarise this for me?\n\n{passage}",
  ],
  extraction: [
    "Extract all person names and dates from the following text and return them as JSON:\n\n{passage}",
    "List every organization mentioned in this passage:\n{passage}",
    "From the text below, pull out the key facts as a table with columns Fact and Source sentence.\n\n{passage}",
    "{passage}\n\nIdentify all numbers in the text above and what they refer to.",
    "Parse the following and extract the fields name, email and address as JSON: {passage}",
    "Find all the locations mentioned in this text:\n{passage}",
  ],
  // Plain-text maths (proofs, exercises): the data's maths is LaTeX competition problems and word problems only.
  math: [
    "Prove that the square root of 2 is irrational.",
    "Show that the sum of the first n odd numbers is n^2.",
    "Prove that there are infinitely many prime numbers.",
    "Find all integer solutions of x^2 - y^2 = 15.",
    "Solve for x: 3x + 7 = 2x - 5.",
    "Compute the derivative of sin(x) * e^x and simplify.",
    "What is the integral of 1/(1 + x^2) from 0 to 1?",
    "Prove by induction that 2^n > n for every natural number n.",
    "Is 221 a prime number? Show your work.",
    "Find the eigenvalues of the matrix [[2, 1], [1, 2]].",
    "Explain {topic} and give a worked example.",
    "How do I compute {topic}? Walk me through the steps.",
  ],
  creative: [
    "Write a short story about {topic}.",
    "Write a poem about {topic} in the style of a sonnet.",
    "Compose a haiku about {topic}.",
    "Write song lyrics about {topic} with a catchy chorus.",
    "Imagine a world where {topic} never existed. Describe it creatively.",
    "Write a funny limerick about {topic}.",
    "Create a slogan for a campaign about {topic}.",
    "Write a dialogue between two characters arguing about {topic}.",
  ],
};

const DOMAIN_TEMPLATES: readonly { task: Task; text: string }[] = [
  { task: "qa", text: "What should I know about {topic}?" },
  { task: "qa", text: "Can you explain how {topic} works and what the main risks are?" },
  {
    task: "reasoning",
    text: "Given the facts below about {topic}, what is the most likely outcome and why?\n{passage}",
  },
  { task: "summarization", text: "Summarize the key points of this document about {topic}:\n\n{passage}" },
  {
    task: "extraction",
    text: "Extract the obligations, amounts and deadlines related to {topic} from this text:\n{passage}",
  },
  { task: "qa", text: "Is it normal that {topic} takes this long? What are my options?" },
  { task: "chat", text: "I'm worried about {topic}. Any advice?" },
];

const DOMAIN_FLAVOUR: Record<"legal" | "medical" | "finance", readonly string[]> = {
  legal: [
    "The tenant signed the lease in March; the landlord now claims breach of contract and withheld the deposit.",
    "Under the statute, the defendant's liability depends on whether negligence can be shown by the plaintiff.",
    "The clause requires arbitration before any lawsuit; the court may still grant an injunction.",
    "The employee alleges wrongful termination and the employer cites the non-compete agreement.",
  ],
  medical: [
    "The patient is 54, has hypertension and type 2 diabetes, and reports chest pain after exercise.",
    "Symptoms started three days ago: fever of 39C, cough, and shortness of breath; no known allergies.",
    "Current medication: metformin 500 mg twice daily and lisinopril 10 mg; blood glucose remains high.",
    "The MRI shows a small lesion; the physician recommends a biopsy and follow-up in two weeks.",
  ],
  finance: [
    "The company reported revenue of $12M, operating profit of $1.5M and free cash flow of -$0.3M this quarter.",
    "My portfolio is 70% equities and 30% bonds; interest rates rose and bond yields went up to 4.5%.",
    "The loan has a 6.2% interest rate over 30 years; refinancing costs $4,000 in fees.",
    "Earnings per share grew 12% while the dividend stayed flat; the stock trades at 18x earnings.",
  ],
};

function fill(template: string, topic: string, passage: string): string {
  return template.replace(/\{topic\}/g, topic).replace(/\{passage\}/g, passage);
}

/** `perClass` prompts for each synthetic task label and each of legal/medical/finance, seeded by `random`. */
export function syntheticRows(perClass: number, passages: readonly string[], random: () => number): SyntheticRow[] {
  const rows: SyntheticRow[] = [];
  const passage = (): string => {
    const p = pick(passages, random);
    return p.length > 1200 ? p.slice(0, 1200) : p;
  };
  for (const task of ["chat", "summarization", "extraction", "creative", "math"] as const) {
    for (let i = 0; i < perClass; i++) {
      const domain: Domain = task === "math" ? "math" : "general";
      rows.push({
        prompt: fill(pick(TASK_TEMPLATES[task], random), pick(TOPICS[domain], random), passage()),
        task,
        domain,
      });
    }
  }
  for (const domain of ["legal", "medical", "finance"] as const) {
    for (let i = 0; i < perClass; i++) {
      const t = pick(DOMAIN_TEMPLATES, random);
      const body = `${pick(DOMAIN_FLAVOUR[domain], random)} ${random() < 0.5 ? pick(DOMAIN_FLAVOUR[domain], random) : ""}`;
      rows.push({ prompt: fill(t.text, pick(TOPICS[domain], random), body.trim()), task: t.task, domain });
    }
  }
  return rows;
}

/** A labelled data prompt to wrap (the label is the prompt's own weak or benchmark label). */
export interface LabelledPrompt {
  prompt: string;
  task: Task;
  domain: Domain;
}

const OPTION_LINE = /^\s*\(?[A-E][).:]\s/m;

function exemplarAnswer(prompt: string, task: Task, random: () => number): string {
  if (OPTION_LINE.test(prompt)) return pick(["A", "B", "C", "D"], random);
  if (task === "math") return String(Math.floor(random() * 500));
  const words = prompt.match(/\b[A-Z][a-z]{3,}\b/g) ?? [];
  return words.length > 0 ? pick(words, random) : pick(["Yes", "No"], random);
}

const FEW_SHOT_HEADERS = [
  "",
  "Answer the following questions.\n\n",
  "Here are some examples.\n\n",
  "The following are questions with answers.\n\n",
];

/**
 * Few-shot wrappers around short data prompts: 2-5 answered exemplars of the same kind, then the prompt itself, with
 * the final prompt's label (tasks drawn uniformly). Few-shot prompts are common in real traffic and in benchmarks; without these rows the task
 * head reads several stacked questions as a long passage (i.e. summarization). Exemplars are drawn from prompts of
 * the same task so the wrapper keeps the label honest.
 */
export function fewShotRows(source: readonly LabelledPrompt[], count: number, random: () => number): SyntheticRow[] {
  const short = source.filter((s) => s.prompt.length <= 700);
  const byTask = new Map<Task, LabelledPrompt[]>();
  for (const s of short) {
    const group = byTask.get(s.task);
    if (group === undefined) byTask.set(s.task, [s]);
    else group.push(s);
  }
  const rows: SyntheticRow[] = [];
  // Stratified by task, so the wrappers do not add to the data's own label imbalance (mostly open QA).
  const tasks = [...byTask.keys()].sort();
  for (let i = 0; i < count && tasks.length > 0; i++) {
    const pool = byTask.get(pick(tasks, random)) ?? short;
    const last = pick(pool, random);
    const k = 2 + Math.floor(random() * 4);
    const shots: string[] = [];
    for (let j = 0; j < k; j++) {
      const ex = pick(pool, random);
      shots.push(`${ex.prompt.trim()}\nAnswer: ${exemplarAnswer(ex.prompt, ex.task, random)}`);
    }
    const header = pick(FEW_SHOT_HEADERS, random);
    rows.push({
      prompt: `${header}${shots.join("\n\n")}\n\n${last.prompt.trim()}\nAnswer:`,
      task: last.task,
      domain: last.domain,
    });
  }
  return rows;
}
