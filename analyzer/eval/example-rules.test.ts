import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type { ModelProvider, ModelRoute } from "../../operator/api/v1alpha1/types.js";
import { validateProvider, validateRoute } from "../../operator/api/v1alpha1/validate.js";
import { compile } from "../../operator/compile/compile.js";
import { OnnxClassifier } from "../../router/classify/onnx-classifier.js";
import { packageRoot } from "../../router/config/package-root.js";
import type { RuleConfig } from "../../router/config/types.js";
import { ruleMatches } from "../../router/select/rank.js";
import type { RequestFeatures } from "../../router/select/types.js";

/** The example routes as the operator compiles them (the rules the router evaluates). */
function exampleRules(): RuleConfig[] {
  const providers: ModelProvider[] = [];
  const routes: ModelRoute[] = [];
  for (const f of ["providers.yaml", "routes.yaml"]) {
    for (const doc of parseAllDocuments(readFileSync(join(packageRoot(), "examples", f), "utf8"))) {
      const obj = doc.toJS() as { kind: string; metadata: { namespace?: string } };
      obj.metadata.namespace = "team-a";
      const r = obj.kind === "ModelRoute" ? validateRoute(obj) : validateProvider(obj);
      if (!r.ok) throw new Error(JSON.stringify(r.errors));
      if (r.object.kind === "ModelRoute") routes.push(r.object);
      else providers.push(r.object);
    }
  }
  const secrets = [{ namespace: "team-a", name: "openai-credentials", keys: ["apiKey"] }];
  return compile({ providers, routes, secrets }).config.routes.flatMap((r) => r.rules);
}

interface Request {
  prompt: string;
  headers?: Record<string, string>;
}

function features(req: Request): RequestFeatures {
  const headers = new Map(Object.entries(req.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    promptTokens: Math.ceil(req.prompt.length / 4),
    maxOutputTokens: null,
    needsTools: false,
    needsVision: false,
    needsJson: false,
    stream: false,
    header: (name) => headers.get(name.toLowerCase()),
    metadata: {},
  };
}

const HARD_CODE = [
  "Write a compiler in C++ for a small language with functions, closures and a garbage collector; lex, parse, type-check and emit LLVM IR.",
  "Implement a distributed job scheduler in Go with leader election over etcd, retries with backoff, and exactly-once execution; include tests that kill nodes.",
  "Write a Rust async runtime from scratch: an executor, a reactor on epoll, timers and a work-stealing scheduler, with benchmarks against tokio.",
  "Build a SQL query engine in Java that parses SELECT with joins and GROUP BY, plans it with a cost model and executes it over CSV files.",
];

const UNRELATED = [
  "hi there!",
  "thanks, that was helpful",
  "What is the capital of Canada?",
  "Write a poem about the autumn rain.",
  "Summarize this paragraph: The library will close early on Friday for staff training. Returns can be left in the drop box.",
  "Solve for x: 4x + 2 = 18.",
];

/** Per example rule: requests it is written for, and requests it must leave alone. */
const CASES: Record<string, { fires: Request[]; ignores: Request[] }> = {
  "premium-tier": {
    fires: [
      { prompt: "hi there!", headers: { "x-customer-tier": "premium" } },
      { prompt: HARD_CODE[0] ?? "", headers: { "x-customer-tier": "premium" } },
    ],
    ignores: [
      { prompt: "hi there!" },
      { prompt: "What is the capital of Canada?", headers: { "x-customer-tier": "free" } },
    ],
  },
  "hard-code": {
    fires: HARD_CODE.map((prompt) => ({ prompt })),
    ignores: [...UNRELATED, "Write a Python function that adds two numbers.", "How do I reverse a list in Python?"].map(
      (prompt) => ({ prompt }),
    ),
  },
};

describe("example routes' rules with the shipped analyzer", () => {
  const rules = exampleRules();

  it("has cases for every rule in the examples", () => {
    expect(rules.map((r) => r.name).sort()).toEqual(Object.keys(CASES).sort());
  });

  for (const [name, c] of Object.entries(CASES)) {
    it(`fires ${name} on the requests it is written for and not on others`, async () => {
      const rule = rules.find((r) => r.name === name);
      expect(rule).toBeDefined();
      const classifier = await OnnxClassifier.load({ cacheSize: 0 });
      const verdict = async (req: Request): Promise<[string, boolean]> => [
        req.prompt.slice(0, 60),
        ruleMatches(
          rule!,
          await classifier.classify({ prompt: req.prompt, system: "", totalChars: req.prompt.length }),
          features(req),
        ),
      ];
      const fires = await Promise.all(c.fires.map(verdict));
      const ignores = await Promise.all(c.ignores.map(verdict));
      expect(fires.filter(([, m]) => !m)).toEqual([]);
      expect(ignores.filter(([, m]) => m)).toEqual([]);
    });
  }
});
