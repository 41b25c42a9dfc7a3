import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { validateProvider, validateRoute } from "../api/v1alpha1/validate.js";
import type { ModelProvider, ModelRoute } from "../api/v1alpha1/types.js";
import { evidenceOf } from "../../router/learn/evidence.js";
import { compile, type CompileInput } from "./compile.js";

const ROOT = join(import.meta.dirname, "../..");

function examples(): CompileInput {
  const providers: ModelProvider[] = [];
  const routes: ModelRoute[] = [];
  for (const f of ["providers.yaml", "routes.yaml"]) {
    for (const doc of parseAllDocuments(readFileSync(join(ROOT, "examples", f), "utf8"))) {
      const obj = doc.toJS() as { kind: string; metadata: { namespace?: string } };
      obj.metadata.namespace = "team-a";
      const r = obj.kind === "ModelRoute" ? validateRoute(obj) : validateProvider(obj);
      if (!r.ok) throw new Error(JSON.stringify(r.errors));
      if (r.object.kind === "ModelRoute") routes.push(r.object);
      else providers.push(r.object);
    }
  }
  return { providers, routes, secrets: [{ namespace: "team-a", name: "openai-credentials", keys: ["apiKey"] }] };
}

function route(
  name: string,
  spec: Partial<ModelRoute["spec"]>,
  extra: Partial<ModelRoute["metadata"]> = {},
): ModelRoute {
  const r = validateRoute({
    apiVersion: "routewise.dev/v1alpha1",
    kind: "ModelRoute",
    metadata: { name, namespace: "team-a", ...extra },
    spec: {
      modelName: "assistant",
      baseline: { name: "gpt-4o" },
      candidates: [{ name: "gpt-4o" }, { name: "llama-3-8b" }],
      ...spec,
    },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.object;
}

describe("compile", () => {
  it("produces the golden config for the examples (UPDATE_GOLDEN=1 rewrites it)", () => {
    const out = compile(examples());
    const golden = join(import.meta.dirname, "testdata/examples.golden.json");
    const text = JSON.stringify(out.config, null, 2) + "\n";
    if (process.env["UPDATE_GOLDEN"] === "1" || !existsSync(golden)) writeFileSync(golden, text);
    expect(out.problems).toEqual([]);
    expect(text).toBe(readFileSync(golden, "utf8"));
  });

  it("refuses a duration over the cap stored before the CRD capped it, instead of breaking every request (issue 15 #7)", () => {
    // Node's timers overflow past ~596 h and fire after 1 ms; the CRD now refuses these, older objects may hold one.
    const input = examples();
    const r = route("forever", { modelName: "forever" });
    r.spec.timeouts = { request: "700h" };
    const provider = input.providers[0]!;
    provider.spec.timeouts = { connect: "25h" };
    const out = compile({ ...input, routes: [...input.routes, r] });
    expect(out.problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: "spec.timeouts.request", reason: "Invalid", message: "must be at most 24h" }),
        expect.objectContaining({ field: "spec.timeouts.connect", reason: "Invalid", message: "must be at most 24h" }),
      ]),
    );
    expect(out.config.providers.map((p) => p.id)).not.toContain(`team-a/${provider.metadata.name}`);
    expect(out.config.routes.every((x) => x.timeouts.requestMs <= 24 * 3_600_000)).toBe(true);
  });

  it("orders candidates strongest first, cheaper first among equals", () => {
    const r = compile(examples()).config.routes.find((x) => x.name === "assistant");
    expect(r?.candidates.map((c) => c.provider)).toEqual([
      "team-a/claude-3-5-sonnet",
      "team-a/gpt-4o",
      "team-a/gpt-4o-mini",
      "team-a/llama-3-70b",
      "team-a/llama-3-8b",
    ]);
  });

  it("resolves a label selector to the matching providers", () => {
    const r = compile(examples()).config.routes.find((x) => x.name === "support-bot");
    expect(r?.candidates.map((c) => c.provider)).toEqual(["team-a/llama-3-70b", "team-a/llama-3-8b"]);
    expect(r?.baseline).toBe("team-a/gpt-4o");
  });

  it("is deterministic whatever the input order", () => {
    const input = examples();
    const a = compile(input).config;
    const b = compile({
      ...input,
      providers: [...input.providers].reverse(),
      routes: [...input.routes].reverse(),
    }).config;
    expect(b).toEqual(a);
    expect(b.hash).toMatch(/^[0-9a-f]{16}$/);
  });

  it("changes the hash when a price changes", () => {
    const input = examples();
    const before = compile(input).config.hash;
    input.providers[0]!.spec.pricing.inputPerMillion += 1;
    expect(compile(input).config.hash).not.toBe(before);
  });

  it("refers to credentials by key and never carries secret values", () => {
    const input = examples();
    const real = "openai-gpt-4o-mini";
    input.routes.push(route("real", { modelName: "real", baseline: { name: real }, candidates: [{ name: real }] }));
    const out = compile(input);
    const p = out.config.providers.find((x) => x.id === "team-a/openai-gpt-4o-mini");
    expect(p?.credentialKey).toBe("team-a.openai-gpt-4o-mini");
    expect(out.credentials).toEqual([
      { key: "team-a.openai-gpt-4o-mini", namespace: "team-a", secretName: "openai-credentials", secretKey: "apiKey" },
    ]);
  });

  it("reports SecretNotFound and leaves the provider out when its Secret is missing", () => {
    const out = compile({ ...examples(), secrets: [] });
    expect(out.problems).toContainEqual(
      expect.objectContaining({ reason: "SecretNotFound", field: "spec.auth.secretRef.name" }),
    );
    expect(out.config.providers.map((p) => p.id)).not.toContain("team-a/openai-gpt-4o-mini");
  });

  it("reports SecretKeyNotFound when the Secret lacks the key", () => {
    const out = compile({
      ...examples(),
      secrets: [{ namespace: "team-a", name: "openai-credentials", keys: ["other"] }],
    });
    expect(out.problems).toContainEqual(
      expect.objectContaining({ reason: "SecretKeyNotFound", field: "spec.auth.secretRef.key" }),
    );
  });

  it("names the missing provider and keeps the route on the remaining candidates", () => {
    const input = examples();
    input.providers = input.providers.filter((p) => p.metadata.name !== "llama-3-70b");
    const out = compile(input);
    expect(out.problems).toContainEqual(
      expect.objectContaining({
        reason: "ProviderNotFound",
        field: "spec.candidates[2].name",
        message: "ModelProvider team-a/llama-3-70b not found",
      }),
    );
    expect(out.config.routes.map((r) => r.name)).toContain("assistant");
    expect(out.programmed).toContain("ModelRoute/team-a/assistant");
  });

  it("leaves a route out when its baseline is missing", () => {
    const input = examples();
    input.providers = input.providers.filter((p) => p.metadata.name !== "gpt-4o");
    const out = compile(input);
    expect(out.config.routes.map((r) => r.name)).not.toContain("assistant");
    expect(out.programmed).not.toContain("ModelRoute/team-a/assistant");
  });

  it("resolves a modelName conflict by priority, then age, then name, and reports the loser", () => {
    const input = examples();
    const old = route("old", {}, { creationTimestamp: "2026-01-01T00:00:00Z" });
    const young = route("young", {}, { creationTimestamp: "2026-06-01T00:00:00Z" });
    const strong = route("strong", { priority: 10 }, { creationTimestamp: "2026-09-01T00:00:00Z" });
    input.routes = [young, old];
    let out = compile(input);
    expect(out.config.routes.find((r) => r.name === "assistant")?.source.name).toBe("old");
    expect(out.problems).toContainEqual(
      expect.objectContaining({ object: expect.objectContaining({ name: "young" }) as unknown, reason: "Conflicted" }),
    );
    input.routes = [young, old, strong];
    out = compile(input);
    expect(out.config.routes.find((r) => r.name === "assistant")?.source.name).toBe("strong");
  });

  it("rejects a rule that pins a provider outside the candidates", () => {
    const input = examples();
    input.routes = [route("r", { rules: [{ name: "x", match: {}, pin: ["claude-3-5-sonnet"] }] })];
    const out = compile(input);
    expect(out.problems).toContainEqual(
      expect.objectContaining({ condition: "Accepted", reason: "Invalid", field: "spec.rules[0].pin[0]" }),
    );
    expect(out.config.routes).toEqual([]);
  });

  it("rejects a header rule with an invalid regular expression", () => {
    const input = examples();
    input.routes = [
      route("r", {
        rules: [
          { name: "x", match: { headers: [{ name: "a", type: "RegularExpression", value: "(" }] }, pin: ["gpt-4o"] },
        ],
      }),
    ];
    expect(compile(input).problems).toContainEqual(
      expect.objectContaining({ field: "spec.rules[0].match.headers[0].value" }),
    );
  });

  it("reports ProviderNotReady for a reference to a provider that failed validation", () => {
    const input: CompileInput = { ...examples(), rejectedProviders: [{ namespace: "team-a", name: "broken" }] };
    input.routes = [route("r", { candidates: [{ name: "gpt-4o" }, { name: "broken" }] })];
    expect(compile(input).problems).toContainEqual(
      expect.objectContaining({ reason: "ProviderNotReady", field: "spec.candidates[1].name" }),
    );
  });

  it("applies documented defaults", () => {
    const input = examples();
    input.routes = [route("r", {})];
    const r = compile(input).config.routes[0];
    expect(r).toMatchObject({
      objective: { minQualityRetention: 0.95, maxCostPerRequestUSD: null, minConfidence: 0.5 },
      retry: { attempts: 2, backoffBaseMs: 200, backoffMaxMs: 2000, retryOn: [408, 429, 500, 502, 503, 504] },
      fallback: { enabled: true, maxProviders: 3 },
      timeouts: { requestMs: 300000, attemptMs: 60000 },
      rollout: "enforce",
    });
  });

  it("leaves out the providers no route uses, and their credentials", () => {
    const out = compile(examples());
    expect(out.config.providers.map((p) => p.id)).not.toContain("team-a/openai-gpt-4o-mini");
    expect(out.credentials).toEqual([]);
  });

  it("refuses a provider in another namespace without a grant (RefNotPermitted)", () => {
    const input = examples();
    input.routes = [route("r", { candidates: [{ name: "gpt-4o", namespace: "platform" }, { name: "llama-3-8b" }] })];
    input.providers.push(providerIn("platform", input.providers[0]!));
    const out = compile(input);
    expect(out.problems).toContainEqual(
      expect.objectContaining({ reason: "RefNotPermitted", field: "spec.candidates[0].name" }),
    );
    expect(out.config.routes[0]?.candidates.map((c) => c.provider)).not.toContain("platform/gpt-4o");
  });

  it("uses a provider in another namespace when a grant there names the route's namespace", () => {
    const input = examples();
    const platformGpt = providerIn(
      "platform",
      input.providers.find((p) => p.metadata.name === "gpt-4o")!,
    );
    input.providers.push(platformGpt);
    input.routes = [
      route("r", {
        baseline: { name: "gpt-4o", namespace: "platform" },
        candidates: [{ name: "gpt-4o", namespace: "platform" }],
      }),
    ];
    input.grants = [{ namespace: "platform", fromNamespaces: ["team-a"], toNames: ["gpt-4o"] }];
    const out = compile(input);
    expect(out.problems).toEqual([]);
    expect(out.config.routes[0]?.baseline).toBe("platform/gpt-4o");
    expect(out.config.providers.map((p) => p.id)).toEqual(["platform/gpt-4o"]);
  });

  it("keeps serving a route's last good version when its new generation cannot compile", () => {
    const input = examples();
    input.routes = [route("r", {}, { generation: 3 })];
    const good = compile(input);
    input.routes = [route("r", { baseline: { name: "gpt-4o-typo" } }, { generation: 4 })];
    const out = compile({ ...input, previous: good.config });
    expect(out.problems).toContainEqual(
      expect.objectContaining({ reason: "ProviderNotFound", field: "spec.baseline.name" }),
    );
    expect(out.config.routes).toEqual(good.config.routes);
    expect(out.config.routes[0]?.source.generation).toBe(3);
    expect(out.lastGood).toEqual({ "ModelRoute/team-a/r": 3 });
    expect(out.programmed).toContain("ModelRoute/team-a/r");
  });

  it("keeps a last good route's provider, and asks for its credential, when the provider is gone", () => {
    const input = examples();
    const real = "openai-gpt-4o-mini";
    input.routes = [route("r", { baseline: { name: real }, candidates: [{ name: real }] }, { generation: 1 })];
    const good = compile(input);
    const out = compile({
      ...input,
      providers: input.providers.filter((p) => p.metadata.name !== "openai-gpt-4o-mini"),
      previous: good.config,
    });
    expect(out.config.providers.map((p) => p.id)).toEqual(["team-a/openai-gpt-4o-mini"]);
    expect(out.credentials).toEqual([]);
    expect(out.carriedCredentialKeys).toEqual(["team-a.openai-gpt-4o-mini"]);
  });

  it("does not serve a route that never compiled", () => {
    const input = examples();
    input.routes = [route("r", { baseline: { name: "gpt-4o-typo" } }, { generation: 1 })];
    const out = compile({ ...input, previous: null });
    expect(out.config.routes).toEqual([]);
    expect(out.lastGood).toEqual({});
  });
});

function providerIn(namespace: string, p: ModelProvider): ModelProvider {
  return { ...p, metadata: { ...p.metadata, namespace } };
}

describe("compile: evaluation and rollout (ADR 10)", () => {
  it("compiles spec.evaluation with its judge resolved and the documented defaults", () => {
    const input = examples();
    input.routes = [route("r", { evaluation: { judge: { name: "openai-gpt-4o-mini" } } })];
    const out = compile(input);
    expect(out.problems).toEqual([]);
    expect(out.config.routes[0]?.evaluation).toEqual({
      judge: "team-a/openai-gpt-4o-mini",
      sampleRate: 0.05,
      maxCostPerHourUSD: 5,
    });
  });

  it("counts the judge as a used provider, so its credential is copied", () => {
    const input = examples();
    input.routes = [route("r", { evaluation: { judge: { name: "openai-gpt-4o-mini" }, sampleRate: 0.2 } })];
    const out = compile(input);
    expect(out.config.providers.map((p) => p.id)).toContain("team-a/openai-gpt-4o-mini");
    expect(out.credentials.map((c) => c.secretName)).toEqual(["openai-credentials"]);
    expect(out.config.routes[0]?.evaluation?.sampleRate).toBe(0.2);
  });

  it("reports a judge that does not exist like a bad candidate and serves the route without evaluation", () => {
    const input = examples();
    input.routes = [route("r", { evaluation: { judge: { name: "ghost" } } })];
    const out = compile(input);
    expect(out.problems).toContainEqual(
      expect.objectContaining({ reason: "ProviderNotFound", field: "spec.evaluation.judge.name" }),
    );
    expect(out.config.routes[0]?.name).toBe("assistant");
    expect(out.config.routes[0]?.evaluation).toBeUndefined();
  });

  it("refuses a judge in another namespace without a grant (RefNotPermitted)", () => {
    const input = examples();
    input.providers.push(providerIn("platform", input.providers[0]!));
    input.routes = [route("r", { evaluation: { judge: { name: "gpt-4o", namespace: "platform" } } })];
    const out = compile(input);
    expect(out.problems).toContainEqual(
      expect.objectContaining({ reason: "RefNotPermitted", field: "spec.evaluation.judge.name" }),
    );
    input.grants = [{ namespace: "platform", fromNamespaces: ["team-a"], toNames: ["gpt-4o"] }];
    expect(compile(input).config.routes[0]?.evaluation?.judge).toBe("platform/gpt-4o");
  });

  it("leaves evaluation and canaryPercent out of a route that sets neither (hashes of older configs stay)", () => {
    const out = compile(examples());
    for (const r of out.config.routes) {
      expect(r).not.toHaveProperty("evaluation");
      expect(r).not.toHaveProperty("canaryPercent");
    }
  });

  it("compiles rollout canary with its percent, 10 by default", () => {
    const input = examples();
    input.routes = [
      route("a", { rollout: { mode: "canary" } }),
      route("b", { modelName: "b", rollout: { mode: "canary", percent: 25 } }),
    ];
    const [a, b] = compile(input).config.routes;
    expect([a?.rollout, a?.canaryPercent]).toEqual(["canary", 10]);
    expect([b?.rollout, b?.canaryPercent]).toEqual(["canary", 25]);
  });

  it("programs a route in the auto shadow set as shadow without its spec changing", () => {
    const input = examples();
    const r = route("r", { rollout: { mode: "canary", percent: 30 } });
    input.routes = [r];
    const before = JSON.stringify(r);
    const out = compile({ ...input, autoShadow: new Set(["ModelRoute/team-a/r"]) });
    expect(out.config.routes[0]?.rollout).toBe("shadow");
    expect(out.config.routes[0]).not.toHaveProperty("canaryPercent");
    expect(JSON.stringify(r)).toBe(before);
    expect(compile(input).config.routes[0]?.rollout).toBe("canary");
  });
});

describe("compile: cascades (ADR 11)", () => {
  const candidates = [{ name: "gpt-4o" }, { name: "gpt-4o-mini" }, { name: "llama-3-8b" }, { name: "llama-3-70b" }];

  it("defaults the stages to the two cheapest candidates under the baseline, and the verifiers and thresholds", () => {
    const input = examples();
    input.routes = [route("r", { candidates, strategy: "cascade" })];
    const out = compile(input);
    expect(out.problems).toEqual([]);
    expect(out.config.routes[0]?.strategy).toBe("cascade");
    expect(out.config.routes[0]?.cascade).toEqual({
      stages: ["team-a/llama-3-8b", "team-a/gpt-4o-mini"],
      verifiers: ["structure", "math", "refusal"],
      judge: null,
      judgeThreshold: 7,
      logprobsThreshold: -1,
    });
  });

  it("keeps the configured stages in order and resolves the judge verifier's provider as a used provider", () => {
    const input = examples();
    input.routes = [
      route("r", {
        candidates,
        strategy: "cascade",
        cascade: { stages: ["gpt-4o-mini"], verifiers: ["refusal", "judge"], judge: { name: "openai-gpt-4o-mini" } },
      }),
    ];
    const out = compile(input);
    expect(out.problems).toEqual([]);
    const route0 = out.config.routes[0];
    expect(route0?.cascade?.stages).toEqual(["team-a/gpt-4o-mini"]);
    expect(route0?.cascade?.judge).toBe("team-a/openai-gpt-4o-mini");
    expect(out.config.providers.map((p) => p.id)).toContain("team-a/openai-gpt-4o-mini");
  });

  it("refuses a stage that is not a candidate, naming the field", () => {
    const input = examples();
    input.routes = [route("r", { candidates, strategy: "cascade", cascade: { stages: ["claude-3-5-sonnet"] } })];
    const out = compile(input);
    expect(out.problems).toContainEqual(
      expect.objectContaining({ field: "spec.cascade.stages[0]", reason: "Invalid" }),
    );
  });

  it("leaves single-strategy routes exactly as before (no cascade fields)", () => {
    const input = examples();
    input.routes = [route("r", { candidates, cascade: { stages: ["gpt-4o-mini"] } })];
    const routeConfig = compile(input).config.routes[0];
    expect(routeConfig).not.toHaveProperty("strategy");
    expect(routeConfig).not.toHaveProperty("cascade");
  });
});

describe("compile: egress (issue 16)", () => {
  function withEgress(spec: Partial<ModelProvider["spec"]>): CompileInput {
    const input = examples();
    input.providers = input.providers.map((p) =>
      p.metadata.name === "gpt-4o" ? { ...p, spec: { ...p.spec, ...spec } } : p,
    );
    input.secrets = [...input.secrets, { namespace: "team-a", name: "internal-ca", keys: ["ca.crt"] }];
    return input;
  }
  const gpt4o = (out: ReturnType<typeof compile>) => out.config.providers.find((p) => p.id === "team-a/gpt-4o");

  it("compiles a proxy URL and a CA bundle, and copies the bundle like a credential under namespace.name_ca", () => {
    const out = compile(
      withEgress({
        proxy: { from: "URL", url: "http://proxy.corp:3128" },
        tls: { caSecretRef: { name: "internal-ca" } },
      }),
    );
    expect(out.problems).toEqual([]);
    expect(gpt4o(out)?.egress).toEqual({ proxy: "url", proxyURL: "http://proxy.corp:3128", caKey: "team-a.gpt-4o_ca" });
    expect(out.credentials).toContainEqual({
      key: "team-a.gpt-4o_ca",
      namespace: "team-a",
      secretName: "internal-ca",
      secretKey: "ca.crt",
    });
  });

  it("leaves providers without a proxy or CA unchanged (no egress field), and reports a missing CA Secret", () => {
    expect(gpt4o(compile(examples()))).not.toHaveProperty("egress");
    expect(gpt4o(compile(withEgress({ proxy: { from: "None" } })))?.egress).toEqual({
      proxy: "direct",
      proxyURL: null,
      caKey: null,
    });
    const out = compile(withEgress({ tls: { caSecretRef: { name: "no-such-ca" } } }));
    expect(out.problems).toContainEqual(
      expect.objectContaining({ field: "spec.tls.caSecretRef.name", reason: "SecretNotFound" }),
    );
  });
});

describe("compile: learning (ADR 12)", () => {
  it("compiles spec.learning with its defaults, and leaves routes without it unchanged", () => {
    const input = examples();
    input.routes = [route("r", { learning: { tags: ["support", "billing"], exploration: 0.02 } })];
    expect(compile(input).config.routes[0]?.learning).toEqual({
      tags: ["billing", "support"],
      exploration: 0.02,
      window: 1000,
      priorSamples: 20,
    });
    input.routes = [route("r", {})];
    expect(compile(input).config.routes[0]).not.toHaveProperty("learning");
  });

  describe("route.learned from evidence", () => {
    const learning = { tags: ["support"], exploration: 0.05 };
    const evaluation = { judge: { name: "gpt-4o" } };
    const key = "ModelRoute/team-a/r";
    /** 40 judged requests: the small model answered, 9 against the baseline's 9.5. */
    const evidence = evidenceOf(
      Array.from({ length: 40 }, () => ({
        segment: "support|qa|d1",
        model: "meta-llama/Meta-Llama-3-8B-Instruct",
        provider: "team-a/llama-3-8b",
        baselineProvider: "team-a/gpt-4o",
        routed: 9,
        baseline: 9.5,
        propensity: 0.95,
        options: [
          { provider: "team-a/llama-3-8b", predicted: 0.96, cost: 0.01 },
          { provider: "team-a/gpt-4o", predicted: 1, cost: 1 },
        ],
        baselineCost: 1,
        agreement: null,
      })),
    );

    function compiled(ev: Map<string, typeof evidence>, previous: CompileInput["previous"] = null) {
      const input = examples();
      input.routes = [route("r", { learning, evaluation })];
      return compile({ ...input, learning: ev, previous });
    }

    it("writes the learned table into the learning route and its summary into the result", () => {
      const out = compiled(new Map([[key, evidence]]));
      const learned = out.config.routes[0]?.learned;
      expect(learned?.labels).toBe(40);
      expect(learned?.entries.map((e) => [e.segment, e.provider, e.samples])).toEqual([
        ["support|qa|d1", "team-a/llama-3-8b", 40],
      ]);
      expect(out.learned[key]).toMatchObject({ labels: 40, segments: 1, entries: 1 });
    });

    it("gives the same config hash for the same evidence, and another for new evidence", () => {
      const a = compiled(new Map([[key, evidence]]));
      const b = compiled(new Map([[key, structuredClone(evidence)]]));
      expect(b.config.hash).toBe(a.config.hash);
      const more = { ...evidence, labels: 41, cells: evidence.cells.map((c) => ({ ...c, n: 41 })) };
      expect(compiled(new Map([[key, more]])).config.hash).not.toBe(a.config.hash);
    });

    it("keeps the table the gateway serves when no evidence was read (the config stays the same)", () => {
      const served = compiled(new Map([[key, evidence]])).config;
      const again = compiled(new Map(), served);
      expect(again.config.routes[0]?.learned).toEqual(served.routes[0]?.learned);
      expect(again.config.hash).toBe(served.hash);
      expect(again.learned).toEqual({});
    });

    it("drops the table of a route that stopped learning", () => {
      const served = compiled(new Map([[key, evidence]])).config;
      const input = examples();
      input.routes = [route("r", { evaluation })];
      const out = compile({ ...input, learning: new Map([[key, evidence]]), previous: served });
      expect(out.config.routes[0]).not.toHaveProperty("learned");
    });
  });
});
