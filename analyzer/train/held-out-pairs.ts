/**
 * The held-out (strong, weak) pairs the exported model is evaluated on (evaluate.ts; the model card's routing table),
 * in table order. Rows: the test split of `source`, only `benchmark` when given (per-benchmark rows).
 */
export interface HeldOutPair {
  name: string;
  source: string;
  benchmark?: string;
  strong: string;
  weak: string;
}

const RB_STRONG = "gpt-4-1106-preview";
const LLMROUTER_STRONG = "llama-3.1-nemotron-51b-instruct";
const ROUTEPROFILE_STRONG = "llama-3.3-70b-instruct";

export const HELD_OUT_PAIRS: readonly HeldOutPair[] = [
  {
    name: "RouterBench-subset test (ARC+MBPP+Winogrande)",
    source: "routerbench",
    strong: RB_STRONG,
    weak: "mistralai/mixtral-8x7b-chat",
  },
  {
    name: "RouterBench-subset test ARC-C",
    source: "routerbench",
    benchmark: "arc-challenge",
    strong: RB_STRONG,
    weak: "mistralai/mixtral-8x7b-chat",
  },
  {
    name: "RouterBench-subset test MBPP",
    source: "routerbench",
    benchmark: "mbpp",
    strong: RB_STRONG,
    weak: "mistralai/mixtral-8x7b-chat",
  },
  {
    name: "RouterBench-subset test Winogrande",
    source: "routerbench",
    benchmark: "winogrande",
    strong: RB_STRONG,
    weak: "mistralai/mixtral-8x7b-chat",
  },
  { name: "RouterBench-subset test (all 3)", source: "routerbench", strong: RB_STRONG, weak: "gpt-3.5-turbo-1106" },
  { name: "RouterBench-subset test (all 3)", source: "routerbench", strong: RB_STRONG, weak: "meta/llama-2-70b-chat" },
  { name: "LLMRouter test", source: "llmrouter", strong: LLMROUTER_STRONG, weak: "qwen2.5-7b-instruct" },
  { name: "LLMRouter test", source: "llmrouter", strong: LLMROUTER_STRONG, weak: "llama-3.1-8b-instruct" },
  { name: "LLMRouter test", source: "llmrouter", strong: LLMROUTER_STRONG, weak: "mistral-7b-instruct-v0.3" },
  {
    name: "RouteProfile test (10 tasks)",
    source: "routeprofile",
    strong: ROUTEPROFILE_STRONG,
    weak: "llama-3.1-8b-instruct",
  },
  {
    name: "RouteProfile test (10 tasks)",
    source: "routeprofile",
    strong: ROUTEPROFILE_STRONG,
    weak: "qwen2.5-7b-instruct",
  },
];

/** Names of the per-benchmark rows (the model card's router-vs-length summary counts whole-set rows only). */
export const PER_BENCHMARK_PAIR_NAMES: ReadonlySet<string> = new Set(
  HELD_OUT_PAIRS.filter((p) => p.benchmark !== undefined).map((p) => p.name),
);
