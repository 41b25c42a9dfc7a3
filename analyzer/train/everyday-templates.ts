import type { Domain, Task } from "../../router/config/types.js";
import { pick } from "./rng.js";
import type { SyntheticRow } from "./synthetic.js";

/**
 * Everyday requests as template prompts, for the task and domain heads only: imperative instructions ("Write a Go
 * script that…", "Fix this…", "Summarize…"), questions and chat, composed from slots so no two rows need be alike.
 * The benchmark data has none of these (its code is function stubs, its questions multiple choice), and without them
 * the task head sent "Write a compiler in C++" to qa. Written independently of the everyday evaluation set
 * (analyzer/everyday/everyday.jsonl), which training never reads.
 */

type Slots = Record<string, readonly string[]>;

const LANGS = [
  "Python",
  "JavaScript",
  "TypeScript",
  "Go",
  "Rust",
  "Java",
  "C",
  "C++",
  "C#",
  "Kotlin",
  "Swift",
  "Ruby",
  "PHP",
  "Scala",
  "Haskell",
  "Elixir",
  "Lua",
  "R",
  "Dart",
  "Zig",
];

const CODE_SLOTS: Slots = {
  lang: LANGS,
  artifact: [
    "function",
    "script",
    "class",
    "module",
    "command-line tool",
    "library",
    "service",
    "program",
    "microservice",
    "web server",
    "parser",
    "daemon",
    "plugin",
    "worker",
    "SDK",
    "game",
  ],
  does: [
    "parses a config file and validates every field",
    "downloads a list of URLs in parallel and retries failures",
    "converts Markdown to HTML",
    "resizes every image in a folder",
    "computes word frequencies in a large text file",
    "implements a priority queue",
    "caches results with a time-to-live",
    "tokenizes arithmetic expressions and evaluates them",
    "syncs two directories",
    "streams rows from a database and writes Parquet files",
    "implements a hash map with open addressing",
    "schedules jobs with cron syntax",
    "serves a JSON API with authentication",
    "detects cycles in a directed graph",
    "compresses files with Huffman coding",
    "validates credit card numbers with the Luhn check",
    "simulates Conway's Game of Life",
    "implements a chat server over WebSockets",
    "generates a sitemap from a website",
    "implements an event bus with typed handlers",
    "tails a log file and alerts on errors",
    "implements a tiny virtual machine with a bytecode compiler",
    "solves sudoku puzzles with backtracking",
    "implements a consistent hashing ring",
  ],
  build: [
    "an operating system kernel that boots on x86",
    "a database engine with a query planner",
    "a JIT compiler for a scripting language",
    "a distributed key-value store with replication",
    "a ray tracer with reflections and soft shadows",
    "a full-text search engine with an inverted index",
    "a container runtime",
    "a chess engine with alpha-beta search",
    "a load balancer with health checks",
    "a static site generator",
    "a regex engine",
    "a package manager with dependency resolution",
    "a spreadsheet app with formulas",
    "a browser rendering engine for a subset of HTML and CSS",
  ],
  config: [
    "a Dockerfile",
    "a docker-compose file",
    "a Kubernetes Deployment",
    "a Helm chart",
    "a GitHub Actions workflow",
    "a GitLab CI pipeline",
    "a Terraform module",
    "an Nginx config",
    "an Ansible playbook",
    "a systemd unit file",
    "a Makefile",
    "a webpack config",
  ],
  configFor: [
    "a Django app with Postgres",
    "a Next.js frontend",
    "a Spring Boot service",
    "a Flask API",
    "a static website",
    "a Rails app",
    "a Go microservice",
    "a Redis cluster",
    "a Node.js worker",
  ],
  query: [
    "finds users who signed up last month but never logged in",
    "computes a running total of sales per region",
    "returns the second highest salary in each department",
    "deletes duplicate rows but keeps the newest",
    "joins orders with customers and shows unpaid invoices",
    "counts daily active users for the past 30 days",
    "pivots monthly revenue into columns",
  ],
  regex: [
    "email addresses",
    "UK postcodes",
    "dates in YYYY-MM-DD format",
    "hex colour codes",
    "URLs with query strings",
    "phone numbers with an optional country code",
    "semantic version strings",
  ],
  howto: [
    "read a JSON file",
    "sort a dictionary by value",
    "make an HTTP request with a timeout",
    "run two tasks concurrently",
    "handle exceptions properly",
    "write a unit test with mocks",
    "parse command-line arguments",
    "connect to a PostgreSQL database",
    "remove duplicates from an array",
    "profile a slow function",
    "format dates",
    "write to a file atomically",
    "define an interface",
    "use generics",
    "split a string by whitespace",
  ],
  tool: [
    "git",
    "Docker",
    "kubectl",
    "npm",
    "pip",
    "cargo",
    "webpack",
    "VS Code",
    "Postgres",
    "Redis",
    "Kafka",
    "nginx",
    "bash",
  ],
  error: [
    "segmentation fault",
    "NullPointerException",
    "ModuleNotFoundError: No module named 'requests'",
    "undefined is not a function",
    "borrowed value does not live long enough",
    "deadlock detected",
    "ECONNREFUSED 127.0.0.1:5432",
    "CrashLoopBackOff",
    "stack overflow",
    "merge conflict",
  ],
  toolTask: [
    "squash the last three commits in git",
    "delete a remote git branch",
    "see which process is using port 8080",
    "list all running Docker containers",
    "roll back a Kubernetes deployment",
    "make a flexbox row wrap on small screens",
    "vertically align text in CSS",
    "merge two pandas dataframes on a column",
    "install a specific version of a package with pip",
    "set an environment variable in a Dockerfile",
    "cherry-pick a commit onto another branch",
    "find large files in a git repository's history",
    "create a virtual environment in Python",
    "run a cron job every 15 minutes",
    "add an index to a Postgres table",
  ],
  frontend: ["React app", "Vue page", "Django view", "SQL query", "pandas script", "Angular component", "Node server"],
  keyword: ["async", "yield", "volatile", "final", "interface", "trait", "closure", "pointer", "lambda", "mutex"],
  snippet: [
    "```python\nfor i in range(len(items)):\n    if items[i] = target:\n        return i\n```",
    "```js\nconst total = prices.reduce((a, b) => a + b);\nconsole.log(total.toFixed(2))\n```",
    "```go\nfunc sum(xs []int) int {\n    s := 0\n    for _, x := range xs {\n        s += x\n    }\n    return s\n}\n```",
    "```java\npublic int max(int[] a) {\n  int m = 0;\n  for (int x : a) if (x > m) m = x;\n  return m;\n}\n```",
    "```rust\nfn first(v: &Vec<String>) -> &String {\n    &v[0]\n}\n```",
    "```sql\nSELECT name, COUNT(*) FROM orders GROUP BY customer_id;\n```",
    "```c\nfor (int i = 0; i <= n; i++) {\n    arr[i] = i * 2;\n}\n```",
    "```ts\nasync function load(ids: string[]) {\n  ids.forEach(async (id) => await fetchItem(id));\n}\n```",
    "```bash\nfor f in $(ls *.csv); do cat $f >> all.csv; done\n```",
    "```python\nclass Counter:\n    count = []\n    def add(self, x):\n        self.count.append(x)\n```",
  ],
};

const CODE_TEMPLATES: readonly string[] = [
  "Write a {lang} {artifact} that {does}.",
  "Write a one-liner in {lang} that {does}.",
  "Write a {lang} {artifact} that {does}, and explain how to tune it for performance.",
  "Speed up this query, it is slow on a big table:\n\n{snippet}",
  "Write me a {lang} {artifact} that {does}",
  "Implement a {lang} {artifact} that {does}, with tests.",
  "Create a {artifact} in {lang} that {does}.",
  "Can you write a {lang} {artifact} that {does}?",
  "Build {build} in {lang}.",
  "Write {build} in {lang}, with a design document and benchmarks.",
  "Implement {build} from scratch in {lang}; explain the architecture and the hard parts.",
  "I need a {lang} program that {does}. Please write it.",
  "Write {config} for {configFor}.",
  "Generate {config} for {configFor} and explain each section.",
  "Write a SQL query that {query}.",
  "Write a regular expression that matches {regex}.",
  "Give me a regex for {regex} and test cases for it.",
  "How do I {howto} in {lang}?",
  "What's the best way to {howto} in {lang}?",
  "How can I {howto} in {lang} without extra libraries?",
  "Why does {tool} give me '{error}' and how do I fix it?",
  "I'm getting '{error}' in my {lang} code. What does it mean?",
  "Fix the bug in this code:\n\n{snippet}",
  "Find and fix the bug:\n{snippet}",
  "Refactor this code to be cleaner and more idiomatic:\n\n{snippet}",
  "Explain what this code does:\n\n{snippet}",
  "Review this code and suggest improvements:\n{snippet}",
  "Convert this code to {lang}:\n\n{snippet}",
  "Add error handling and comments to this:\n{snippet}",
  "Write unit tests for this code:\n\n{snippet}",
  "Optimise this {lang} {artifact} that {does} for speed and memory.",
  "Port my {lang} {artifact} that {does} to Rust.",
  "Debug my {lang} {artifact}: it {does} but crashes with '{error}'.",
  "How do I {toolTask}?",
  "What's the command to {toolTask}?",
  "Is there a way to {toolTask}?",
  "Why is my {frontend} slow when it {does}, and how do I speed it up?",
  "What does {keyword} mean in {lang}?",
  "What is the difference between {keyword} and {keyword} in {lang}?",
];

/** Topics per domain for the non-code, non-maths tasks. */
const TOPICS: Record<"general" | "science" | "legal" | "medical" | "finance", readonly string[]> = {
  general: [
    "the history of jazz",
    "how to train a puppy",
    "planning a trip to Japan",
    "the French Revolution",
    "making sourdough bread",
    "learning to play guitar",
    "the Olympic Games",
    "growing tomatoes on a balcony",
    "moving to a new city",
    "ancient Egypt",
    "the rules of chess",
    "running a first 10k",
    "renovating a kitchen",
    "the Renaissance",
    "the invention of the telephone",
    "choosing a laptop",
  ],
  science: [
    "how neurons send signals",
    "the life cycle of stars",
    "how batteries store energy",
    "why volcanoes erupt",
    "how tides work",
    "the structure of atoms",
    "how evolution by natural selection works",
    "what dark matter is",
    "how enzymes speed up reactions",
    "the greenhouse effect",
    "how magnets work",
    "the carbon cycle",
    "how the human eye sees colour",
  ],
  legal: [
    "tenant rights when a landlord refuses repairs",
    "how to contest a parking ticket",
    "what a prenuptial agreement covers",
    "copyright on photos posted online",
    "employment contracts and notice periods",
    "how patents work",
    "what happens in probate",
    "liability for a dog bite",
    "signing an NDA with a new employer",
    "the difference between civil and criminal cases",
    "data protection rules for a small business",
    "trademarking a business name",
  ],
  medical: [
    "managing asthma in children",
    "the symptoms of a concussion",
    "how statins lower cholesterol",
    "recovering from a broken wrist",
    "what causes anaemia",
    "the side effects of antidepressants",
    "how insulin works",
    "treating a urinary tract infection",
    "when to see a doctor about chest pain",
    "the flu vaccine for older adults",
    "lower back pain after lifting",
    "what an ECG shows",
  ],
  finance: [
    "how index funds work",
    "paying off a mortgage early",
    "how to read a balance sheet",
    "capital gains tax on shares",
    "building an emergency fund",
    "how options trading works",
    "what a company's cash flow statement shows",
    "saving for retirement in your thirties",
    "how credit card interest is calculated",
    "diversifying an investment portfolio",
    "what causes inflation",
    "how venture capital funding rounds work",
  ],
};

type TextDomain = keyof typeof TOPICS;

/** Direct questions per domain (qa): how people ask, not "explain {topic}". */
const DOMAIN_QUESTIONS: Record<TextDomain, readonly string[]> = {
  general: [
    "Who invented the bicycle?",
    "What's the longest river in Europe?",
    "How do I remove a coffee stain from a white shirt?",
    "When was the first moon landing?",
    "What is the national dish of Peru?",
    "How many players are on a rugby team?",
    "Why do leaves change colour in autumn?",
    "Which country has the most islands?",
  ],
  science: [
    "Why does salt melt ice on roads?",
    "How do airplanes stay in the air?",
    "What is the difference between mass and weight?",
    "Why do stars twinkle?",
    "How does sound travel through water?",
    "What are electrons made of?",
    "Why is the ocean salty?",
    "How hot is the core of the Earth?",
    "What is entropy in physics?",
    "How do vaccines and antibodies differ in chemistry terms?",
  ],
  legal: [
    "Can I be fired for posting about my employer on social media?",
    "Is it legal to record a phone call without telling the other person?",
    "How long does a copyright last?",
    "What is the statute of limitations for a breach of contract claim?",
    "Do I have to sign a non-compete to get a job offer?",
    "What happens if someone dies without a will?",
    "Can a landlord enter my apartment without notice?",
    "What is the difference between a patent and a trademark?",
  ],
  medical: [
    "What are the symptoms of a vitamin D deficiency?",
    "Can I drink alcohol while taking antibiotics?",
    "How high does a fever have to be before I see a doctor?",
    "What does a high white blood cell count mean?",
    "Is it normal to feel dizzy after donating blood?",
    "How much water should I drink a day?",
    "What is the recommended dose of paracetamol for adults?",
    "How is asthma diagnosed?",
    "What causes kidney stones?",
  ],
  finance: [
    "What is a good credit score?",
    "How are dividends taxed?",
    "Should I choose a fixed or variable rate mortgage?",
    "What is dollar-cost averaging?",
    "How do ETFs differ from mutual funds?",
    "What does a company's market capitalisation tell you?",
    "How much should I save for retirement each month?",
    "Why do stock prices fall when interest rates rise?",
  ],
};
const TEXT_DOMAINS: readonly TextDomain[] = ["general", "general", "science", "legal", "medical", "finance"];

/** Sentences to compose pasted documents from, per domain (invented facts). */
const SENTENCES: Record<TextDomain, readonly string[]> = {
  general: [
    "The community garden on Oak Avenue will reopen on 12 April after a winter of repairs.",
    "Volunteers replaced the fences and built six new raised beds, paid for by a grant of 8,000 dollars.",
    "Plots cost 40 dollars a season and priority goes to families who live within a mile.",
    "Last year 140 people applied for 60 plots, so the committee will hold a lottery on 1 March.",
    "The committee chair, Ruth Adeyemi, thanked the local hardware store for donating tools.",
    "The annual team retreat is moving from the mountains to a lakeside hotel near Geneva.",
    "Travel will be booked by Jonas in the office team, and everyone should send their passport details by Friday.",
    "The agenda covers the product roadmap on day one and a hiking trip on day two.",
    "Our flight was delayed by three hours, so we missed the ferry and spent the night in Piraeus.",
    "The museum's new wing, designed by the architect Helena Varga, doubles the space for modern art.",
  ],
  science: [
    "Researchers at a university in Norway tracked 2,300 Arctic terns fitted with tiny geolocators.",
    "The birds flew an average of 71,000 kilometres a year between breeding and wintering grounds.",
    "The team found that tail winds cut flight time by almost a third on the southward journey.",
    "A new catalyst made from nickel and iron splits water into hydrogen at 92 percent efficiency.",
    "The material remained stable for 500 hours, far longer than earlier designs.",
    "Telescopes detected water vapour in the atmosphere of an exoplanet 120 light years away.",
    "The planet is about eight times the mass of Earth and orbits in its star's habitable zone.",
    "Samples of deep-sea sediment contained bacteria that survive without oxygen for thousands of years.",
    "The authors say the results could change estimates of how much carbon the oceans store.",
  ],
  legal: [
    "The Contractor shall complete the works by 30 November and pay 500 dollars for each day of delay.",
    "Either party may terminate this agreement for material breach with 30 days' written notice.",
    "The Employee agrees not to solicit clients of the Company for twelve months after leaving.",
    "The Licensee must not reverse engineer the Software or remove any copyright notice.",
    "Any dispute shall be resolved by arbitration in London under the rules of the LCIA.",
    "The court held that the landlord's failure to repair the heating breached the implied warranty of habitability.",
    "The defendant was ordered to pay damages of 25,000 dollars and the plaintiff's legal costs.",
    "Personal data will be retained for no longer than six years and may be erased on request.",
    "This warranty does not cover damage caused by misuse, accidents or unauthorised repairs.",
  ],
  medical: [
    "The patient, a 45-year-old woman, presented with a three-week history of fatigue and weight loss.",
    "Blood tests showed a raised TSH of 9.8 and low free T4, consistent with hypothyroidism.",
    "She was started on levothyroxine 50 micrograms daily, with a repeat test in six weeks.",
    "A 12-year-old boy was seen after a fall from a bicycle with pain and swelling of the left wrist.",
    "X-ray confirmed a distal radius fracture, which was treated with a cast for four weeks.",
    "In a study of 800 adults, daily walking of 30 minutes lowered systolic blood pressure by 5 mmHg on average.",
    "Common side effects of the new drug were nausea, headache and dizziness.",
    "The vaccine was 89 percent effective at preventing hospital admission in people over 65.",
    "Allergies: penicillin (rash). Current medication: ramipril 5 mg and aspirin 75 mg daily.",
  ],
  finance: [
    "Revenue rose 14 percent to 2.1 billion dollars, while operating costs grew 9 percent.",
    "The board approved a dividend of 0.32 dollars per share, payable on 15 June.",
    "Net debt fell to 450 million dollars after the sale of the logistics division.",
    "The fund returned 7.4 percent last year against 6.1 percent for its benchmark index.",
    "Management fees are 0.2 percent a year, with no charge for switching between funds.",
    "The bank raised its fixed mortgage rate to 5.9 percent for new customers.",
    "Inflation slowed to 2.8 percent in May, its lowest level in two years.",
    "The startup raised a 12 million dollar Series A led by Northgate Ventures.",
    "Accounts receivable grew faster than sales, and cash on hand fell to 30 million dollars.",
  ],
};

function passage(domain: TextDomain, random: () => number): string {
  const pool = SENTENCES[domain];
  const n = 2 + Math.floor(random() * 4);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(pick(pool, random));
  return [...new Set(out)].join(" ");
}

const SUMMARY_TEMPLATES: readonly string[] = [
  "Summarize this:\n\n{passage}",
  "Summarize the following in two sentences.\n\n{passage}",
  "Give me a one-paragraph summary of this text:\n{passage}",
  "{passage}\n\nSummarize the text above.",
  "{passage}\n\nTL;DR?",
  "Can you give me the gist of this?\n\n{passage}",
  "Write a short summary for a busy manager:\n\n{passage}",
  "Boil this down to three bullet points:\n{passage}",
  "What are the main points here, briefly? {passage}",
  "Sum up this report in plain English:\n\n{passage}",
  "Shorten this to one sentence: {passage}",
  "Recap the key takeaways:\n\n{passage}",
  "Please condense the following text.\n\n{passage}",
];

const EXTRACTION_TEMPLATES: readonly string[] = [
  "Extract all dates and amounts from this text:\n\n{passage}",
  "From the text below, list every person and organisation named.\n\n{passage}",
  "Pull out the numbers in this text and say what each refers to:\n{passage}",
  "Extract the key fields as JSON:\n\n{passage}",
  "{passage}\n\nExtract every deadline and obligation mentioned above.",
  "{passage}\n\nList the names, places and dates in the text above as a table.",
  "Which figures in this text are percentages? List them.\n\n{passage}",
  "Return a CSV of the entities in this passage (name, type):\n{passage}",
  "Find the medications, doses and dates in this note: {passage}",
  "Parse this into structured data with fields who, what, when and how much:\n\n{passage}",
  "Identify the parties and the amounts in this clause:\n{passage}",
  "What is the exact amount mentioned in this text? {passage}",
  "Which dates appear in this document?\n\n{passage}",
  "What is the deadline stated in this text, and who does it apply to?\n\n{passage}",
  "Which of the values in this text are above normal? {passage}",
  "{passage}\n\nWho are the people named above, and what are their roles?",
  "Tag every organisation and place name in this text:\n{passage}",
  "Turn this into a JSON object: {passage}",
];

const QA_TEMPLATES: readonly string[] = [
  "Why is {topic} important?",
  "Is it true that {topic} is complicated? What are the basics?",
  "Quick question about {topic}: what do most people get wrong?",
  "How long does {topic} usually take to understand, and what are the key terms?",
  "Explain {topic}.",
  "Explain {topic} in simple terms.",
  "Describe {topic} for a beginner.",
  "Tell me about {topic}.",
  "Give me an overview of {topic}.",
  "What should I know about {topic}?",
  "Can you explain {topic}?",
  "I'd like to understand {topic}. Where do I start?",
  "What are the basics of {topic}?",
  "What is the most important thing about {topic}?",
  "List the key facts about {topic}.",
  "Briefly, what is {topic} about?",
  "Outline the main ideas behind {topic}.",
  "Explain what {topic} involves and how it differs from {topic}.",
  "Explain the difference between {topic} and {topic}.",
  "Describe what happens during {topic}.",
  "How does {topic} work, in a nutshell?",
];

const CREATIVE_FORMS = [
  "poem",
  "short story",
  "haiku",
  "limerick",
  "song",
  "rap verse",
  "sonnet",
  "fairy tale",
  "toast",
  "speech",
  "slogan",
  "tagline",
  "Instagram caption",
  "advertising jingle",
  "monologue",
  "screenplay scene",
  "bedtime story",
  "fable",
  "invitation",
  "greeting card message",
  "product description",
  "joke",
];

const CREATIVE_TEMPLATES: readonly string[] = [
  "Write a {form} about {topic}.",
  "Write a funny {form} about {topic}.",
  "Compose a {form} inspired by {topic}.",
  "Write a heartfelt {form} about {topic}.",
  "Could you write me a {form} about {topic}?",
  "Create a {form} for a campaign about {topic}.",
  "Write a {form} from the point of view of someone obsessed with {topic}.",
  "Come up with five creative names for a podcast about {topic}.",
  "Write a {form} for my friend's birthday that mentions {topic}.",
  "Invent a character who is an expert in {topic} and write their origin story.",
  "Write a dramatic {form} where {topic} changes someone's life.",
  "Brainstorm some witty one-liners about {topic}.",
  "Write a letter from {topic} to {topic}, in a whimsical voice.",
  "Invent a festival celebrating {topic} and describe its traditions.",
  "Imagine {topic} as a person and describe their day.",
  "Write a love letter to {topic}.",
];

const CHAT_TEMPLATES: readonly string[] = [
  "hey",
  "hiya",
  "yo",
  "morning!",
  "evening :)",
  "thx",
  "thanks!!",
  "cheers, that helped",
  "great, thanks a ton",
  "nice!",
  "awesome :D",
  "hmm ok",
  "see you tomorrow",
  "talk soon!",
  "I'm back",
  "how's your day?",
  "how have you been?",
  "what are you up to?",
  "I'm so happy today!",
  "I'm kind of sad today.",
  "I just got some good news about {topic}!",
  "Guess what, I finally finished my project about {topic}!",
  "I've had such a long week. How are you?",
  "Do you ever get tired of answering questions?",
  "Can we just talk for a minute? I'm stressed about {topic}.",
  "Haha, that's funny. You're good at this.",
  "I'm feeling nervous about {topic}, just wanted to vent.",
  "You've been really helpful, thank you!",
  "Happy new year! Any resolutions?",
  "Sorry for the late reply, busy day",
  "Good night, talk tomorrow",
  "What's your name?",
  "Do you have feelings?",
  "I'm excited about {topic}, had to share!",
];

const REASONING_TEMPLATES: readonly string[] = [
  "{a} is older than {b}, and {b} is older than {c}. Who is the youngest? Explain.",
  "{a} finished before {b} but after {c}. {d} finished last. What was the finishing order?",
  "If every {x} is a {y} and no {y} is a {z}, can a {x} be a {z}? Reason it out.",
  "Some {x} are {y}. All {y} are {z}. Does it follow that some {x} are {z}?",
  "{a} says {b} is lying. {b} says {c} is lying. {c} says {a} and {b} are both lying. Who tells the truth?",
  "{a}, {b} and {c} each have a different favourite colour: red, green or blue. {a} doesn't like red, {b} likes green. What does each like?",
  "Schedule three tasks for {a}, {b} and {c} so that nobody works two tasks in a row and {c} goes first. Is it possible? Explain.",
  "A riddle: what gets wetter the more it dries?",
  "A riddle: the more you take, the more you leave behind. What am I?",
  "Think it through: if {a} always lies and {b} always tells the truth, what one question finds the road to town?",
  "Is this argument valid? All {x} are {y}; {a} is a {y}; therefore {a} is a {x}.",
  "Given these constraints, seat {a}, {b}, {c} and {d} in a row: {a} is not next to {b}, {c} sits at an end, and {d} sits right of {a}.",
  "What is wrong with this reasoning: 'Sales went up after we changed the logo, so the new logo caused the increase'?",
  "Weigh the pros and cons and decide: given that {a} has two days, a fixed budget, and hates crowds, should they visit a big city or a small town?",
  "{a} has three times as many books as {b}, and together they have the same as {c}. Who has the most? Reason step by step.",
  "Deduce which statement must be false: (1) {a} was at home. (2) {b} saw {a} at the station. (3) {b} never lies.",
  "If {a} was born on a Tuesday and {b} was born 10 days later, what day was {b} born? Explain your reasoning.",
  "{a} is standing in a line. There are {n} people in front and {n} behind. How many people are in the line, and why do people get this wrong?",
  "A farmer has {n} sheep and all but {m} run away. How many are left? Think carefully.",
  "If yesterday was two days after Monday, what day is tomorrow?",
  "Which is heavier: a tonne of bricks or a tonne of cotton? Explain the trick.",
  "{a} can paint a fence in {n} hours and {b} can paint it in {m} hours. Who should paint which part so they finish together? Reason it through.",
  "You have two ropes that each burn for exactly an hour but unevenly. How can you measure 45 minutes?",
  "A light switch outside a room controls one of three bulbs inside. You may enter once. How do you find which switch it is?",
  "{a} wants to visit a museum, a park and a market in one day; the museum closes at 3, the market opens at 2, and the park is best in the morning. Plan the order and justify it.",
  "{a} has to choose between two flats: one cheaper but far from work, one pricier but walkable. Given that {a} has no car and works late, which makes more sense? Reason through it.",
  "Spot the logical fallacy: '{a} is rich and drives a red car, so red cars make people rich.'",
  "If all the {x} in the room are wearing hats and {a} is not wearing a hat, what can we conclude about {a}?",
  "In a family, {a} is {b}'s mother and {c} is {a}'s father. What is {c} to {b}? Explain.",
  "Which conclusion follows: 'No {x} are {y}. {a} is a {x}.'?",
  "Three switches, three boxes, one prize: {a} opens one box and the host reveals an empty one. Should {a} switch? Reason about the probabilities.",
  "There are {n} people at a party and each shakes hands with everyone else once. Think it through: how many handshakes are there, and what's the pattern?",
  "{a} always arrives {n} minutes after {b}, and {c} always arrives before {b}. Today {c} was late. What can you infer, if anything?",
  "Find the next item in the pattern and explain the rule: 2, 6, 12, 20, 30, ...",
  "Decide which suspect did it: the butler was in the kitchen, the gardener has no key, and whoever did it had a key and was upstairs.",
  "Reason through what happens to {scenario}, and explain why.",
  "Predict what happens when {scenario}. Walk through your reasoning.",
  "Think it through step by step: what would happen if {scenario}?",
  "What can we conclude if {a} is always early, {b} is never early, and today they arrived together?",
  "If the day after tomorrow is {day}, what day was yesterday? Explain.",
  "What day of the week will it be {n}0 days after a {day}? Show the reasoning.",
  "Order these steps so each one's prerequisites come first, and explain: {steps}.",
  "Given that {a} is either a knight who always tells the truth or a knave who always lies, and {a} says 'I am a knave', what follows?",
];

const REASONING_SLOTS: Slots = {
  a: ["Maya", "Leo", "Priya", "Omar", "Sofia", "Ken", "Ines", "Tariq", "Zoe", "Mateo"],
  b: ["Noah", "Aisha", "Lars", "Mei", "Pablo", "Grace", "Yusuf", "Elin"],
  c: ["Rosa", "Dev", "Hana", "Felix", "Amara", "Jonah", "Nina"],
  d: ["Oscar", "Lena", "Ravi", "Chloe", "Hugo"],
  x: ["wugs", "florps", "zints", "painters", "engineers", "snarks", "blickets"],
  y: ["dax", "mimsies", "runners", "gardeners", "tovs", "quibs"],
  z: ["borogoves", "pilots", "cooks", "grebbles", "nargs"],
  n: ["3", "4", "5", "6", "7", "9", "12"],
  day: ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
  scenario: [
    "a helium balloon in a car when the car brakes suddenly",
    "a candle burning in a sealed jar",
    "a bottle of water left in a freezer overnight",
    "two clocks, one running a minute fast every hour, after a day",
    "a ship's water line when cargo is thrown overboard in a lock",
    "a company that cuts prices by half while its costs stay the same",
    "a city that doubles bus frequency but keeps fares",
    "a pendulum clock taken to the top of a mountain",
  ],
  steps: [
    "bake the cake, preheat the oven, mix the batter, buy flour, frost the cake",
    "deploy, write tests, review the code, merge, write the code",
    "book the hotel, get a visa, buy the flight, pack, check in",
  ],
  m: ["2", "3", "5", "8"],
};

function fillSlots(template: string, slots: Slots, random: () => number): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const pool = slots[name];
    return pool === undefined ? whole : pick(pool, random);
  });
}

const int = (random: () => number, lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));

const MATH_CLAIMS = [
  "every subgroup of a cyclic group is cyclic",
  "the kernel of a group homomorphism is a normal subgroup",
  "a continuous function on a closed interval is bounded",
  "the triangle inequality holds for complex numbers",
  "the sequence (1 + 1/n)^n is increasing",
  "sqrt(5) is irrational",
  "a polynomial of degree n has at most n real roots",
  "the eigenvalues of a symmetric real matrix are real",
  "there are infinitely many Pythagorean triples",
  "the alternating harmonic series converges",
  "every tree with n vertices has n - 1 edges",
  "the AM-GM inequality holds for two positive reals",
  "the composition of two injective functions is injective",
  "n^3 - n is divisible by 6 for every integer n",
  "the rank of a matrix equals the rank of its transpose",
];

const MATH_OBJECTS = [
  "the limit of (x^2 - 1)/(x - 1) as x approaches 1",
  "the integral of sin^2(x) from 0 to pi",
  "the sum of the geometric series 1 + 1/3 + 1/9 + ...",
  "the Taylor series of cos(x) up to x^6",
  "the eigenvalues of [[3, 0], [1, 2]]",
  "the triple integral of z over the unit cube",
  "the radius of convergence of the series sum x^n / n",
  "the Fourier coefficients of a square wave",
  "the number of subsets of a 10-element set with exactly 4 elements",
  "the order of the element 3 in the group of integers modulo 7",
  "the gradient of f(x, y) = x^2 y + sin(y)",
  "the partial derivatives of e^(xy)",
  "the Laplace transform of t e^t",
  "the variance of a binomial distribution with n = 20 and p = 0.3",
];

/** Maths requests with drawn numbers: equations, percentages, word problems, calculus, proofs. */
const MATH_MAKERS: readonly ((random: () => number) => string)[] = [
  (r) => `Solve for x: ${int(r, 2, 9)}x + ${int(r, 1, 30)} = ${int(r, 31, 90)}.`,
  (r) => `What is ${int(r, 5, 45)}% of ${int(r, 40, 5000)}?`,
  (r) => `Calculate ${int(r, 12, 999)} times ${int(r, 12, 99)} and show the working.`,
  (r) => `Find the derivative of x^${int(r, 2, 6)} + ${int(r, 2, 9)}x^2 - ${int(r, 1, 9)}x.`,
  (r) => `Integrate ${int(r, 2, 9)}x^${int(r, 1, 4)} from 0 to ${int(r, 1, 5)}.`,
  (r) =>
    `If a shop sells ${int(r, 3, 40)} apples a day at $${int(r, 1, 3)}.${int(r, 10, 99)} each, how much does it earn in a week?`,
  (r) =>
    `A car travels ${int(r, 60, 400)} km in ${int(r, 2, 6)} hours. What is its average speed, and how long would ${int(r, 500, 900)} km take?`,
  (r) => `Simplify (${int(r, 2, 9)}x^2 + ${int(r, 2, 9)}x) / x.`,
  (r) => `Is ${int(r, 100, 999)} divisible by ${int(r, 3, 13)}? Explain how to check.`,
  (r) => `Find the area and perimeter of a rectangle ${int(r, 3, 40)} m by ${int(r, 3, 40)} m.`,
  (r) => `Compute the mean and median of ${[1, 2, 3, 4, 5].map(() => int(r, 1, 60)).join(", ")}.`,
  (r) => `What is the probability of rolling a total of ${int(r, 2, 12)} with two dice?`,
  (r) => `Solve the quadratic x^2 - ${int(r, 2, 12)}x + ${int(r, 1, 30)} = 0.`,
  (r) =>
    `I invest $${int(r, 1, 50)},000 at ${int(r, 2, 9)}% interest compounded yearly. How much will I have after ${int(r, 2, 30)} years?`,
  (r) => `How many ways can ${int(r, 3, 10)} people sit around a round table?`,
  (r) => `Find the greatest common divisor of ${int(r, 20, 500)} and ${int(r, 20, 500)}.`,
  (r) =>
    pick(
      [
        "Prove that the sum of two even numbers is even.",
        "Prove that every integer greater than 1 has a prime factor.",
        "Show that the square of an odd number is odd.",
        "Prove that the angle in a semicircle is a right angle.",
        "Prove that there are infinitely many primes of the form 4k + 3.",
        "Show that a bounded monotone sequence converges.",
        "Prove that the determinant of a product is the product of the determinants.",
        "Prove that e is irrational.",
        "Prove that every finite integral domain is a field.",
      ],
      r,
    ),
  (r) => `Convert ${int(r, 10, 250)} to binary and hexadecimal.`,
  (r) =>
    `A recipe needs ${int(r, 100, 600)} g of sugar for ${int(r, 2, 6)} people. How much for ${int(r, 7, 20)} people?`,
  (r) => `What is the probability of drawing ${int(r, 2, 4)} aces in a row from a shuffled deck without replacement?`,
  (r) =>
    `How many different ${int(r, 3, 6)}-letter codes can be made from ${int(r, 5, 26)} letters if letters may repeat?`,
  (r) => `What is the sum of the interior angles of a polygon with ${int(r, 5, 20)} sides?`,
  (r) => `What is the expected value of the sum of ${int(r, 2, 5)} fair dice?`,
  (r) =>
    pick(
      [
        "Does the series 1/n^3 converge? Why?",
        "Why is the sum of the angles of a triangle 180 degrees?",
        "What is a derivative, intuitively?",
        "Why does dividing by zero not work?",
        "What is the integral of 1/x?",
        "Is the square root of 3 rational?",
        "How do you compute a dot product of two vectors?",
        "What is the limit of sin(x)/x as x goes to 0?",
        "Why is 0! equal to 1?",
        "What's the formula for the volume of a sphere?",
      ],
      r,
    ),
  (r) => `${pick(["Prove that", "Show that", "Prove or disprove:", "Demonstrate that"], r)} ${pick(MATH_CLAIMS, r)}.`,
  (r) =>
    `${pick(["Evaluate", "Compute", "Determine", "Find"], r)} ${pick(MATH_OBJECTS, r)}${pick(["", " and justify each step", ", showing your work", " step by step"], r)}.`,
  (r) =>
    `How many ways are there to ${pick(["arrange the letters of", "choose 3 letters from", "split into pairs the letters of"], r)} the word ${pick(["LETTER", "MISSISSIPPI", "PEPPER", "COFFEE", "STATISTICS", "BALLOON"], r)}?`,
  (r) => `Find the inverse of the matrix [[${int(r, 1, 9)}, ${int(r, 1, 9)}], [${int(r, 1, 9)}, ${int(r, 1, 9)}]].`,
];

/** Light variations real requests carry: a polite prefix, lower case, a trailing context line. */
function vary(prompt: string, random: () => number): string {
  const roll = random();
  if (roll < 0.15) return `Please ${prompt.charAt(0).toLowerCase()}${prompt.slice(1)}`;
  if (roll < 0.25) return prompt.toLowerCase();
  if (roll < 0.32) return `${prompt} Keep it short.`;
  if (roll < 0.38) return `Hi! ${prompt}`;
  return prompt;
}

type RowMaker = (random: () => number) => { prompt: string; domain: Domain };

function textDomainMaker(templates: readonly string[], withPassage: boolean): RowMaker {
  return (random) => {
    const domain = pick(TEXT_DOMAINS, random);
    const slots: Slots = {
      topic: TOPICS[domain],
      form: CREATIVE_FORMS,
      passage: withPassage ? [passage(domain, random)] : [],
    };
    return { prompt: fillSlots(pick(templates, random), slots, random), domain };
  };
}

const MAKERS: Record<Task, RowMaker> = {
  code: (random) => ({ prompt: fillSlots(pick(CODE_TEMPLATES, random), CODE_SLOTS, random), domain: "code" }),
  math: (random) => ({ prompt: pick(MATH_MAKERS, random)(random), domain: "math" }),
  qa: (random) => {
    if (random() < 0.5) return textDomainMaker(QA_TEMPLATES, false)(random);
    const domain = pick(TEXT_DOMAINS, random);
    return { prompt: pick(DOMAIN_QUESTIONS[domain], random), domain };
  },
  summarization: textDomainMaker(SUMMARY_TEMPLATES, true),
  extraction: textDomainMaker(EXTRACTION_TEMPLATES, true),
  creative: textDomainMaker(CREATIVE_TEMPLATES, false),
  chat: (random) => ({
    prompt: fillSlots(pick(CHAT_TEMPLATES, random), { topic: TOPICS.general }, random),
    domain: "general",
  }),
  reasoning: (random) => ({
    prompt: fillSlots(pick(REASONING_TEMPLATES, random), REASONING_SLOTS, random),
    domain: "general",
  }),
};

/** Template rows per task (`perTask` each, all 8 tasks), drawn from `random`. */
export function everydayRows(perTask: number, tasks: readonly Task[], random: () => number): SyntheticRow[] {
  const rows: SyntheticRow[] = [];
  for (const task of tasks) {
    for (let i = 0; i < perTask; i++) {
      const { prompt, domain } = MAKERS[task](random);
      rows.push({ prompt: vary(prompt, random), task, domain });
    }
  }
  return rows;
}
