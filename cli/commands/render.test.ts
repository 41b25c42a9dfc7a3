import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { RouterConfig } from "../../router/config/types.js";

const ROOT = join(import.meta.dirname, "../..");

/** Runs the CLI from its TypeScript sources, as `routewise ...` would. */
export function runCli(args: string[], cwd = ROOT): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "cli/main.ts"), ...args], {
    cwd,
    encoding: "utf8",
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "routewise-render-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const PROVIDER = `apiVersion: routewise.dev/v1alpha1
kind: ModelProvider
metadata: { name: small }
spec: { type: simulated, model: s, pricing: { inputPerMillion: 1, outputPerMillion: 1 }, quality: { score: 60 } }
`;

const ROUTE = `apiVersion: routewise.dev/v1alpha1
kind: ModelRoute
metadata: { name: chat }
spec: { modelName: chat, baseline: { name: small }, candidates: [{ name: small }] }
`;

describe("routewise render", () => {
  it("prints the compiled config as JSON with a version when the examples are valid", () => {
    const r = runCli(["render", "-f", "examples/"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const config = JSON.parse(r.stdout) as { version: string; routes: { name: string }[] };
    expect(config.version).toBe("routewise.dev/router-config/v1");
    expect(config.routes.map((x) => x.name)).toEqual(["assistant", "summarizer", "support-bot"]);
  });

  it("compiles the README's multi-team example: one gateway, granted cross-namespace providers", () => {
    const r = runCli(["render", "-f", "docs/examples/multi-team.yaml"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const config = JSON.parse(r.stdout) as { routes: { name: string }[]; providers: { id: string }[] };
    expect(config.routes.map((x) => x.name)).toEqual(["assistant", "team-a-support", "team-b-summarizer"]);
    expect(config.providers.map((x) => x.id)).toEqual(["platform/gpt-4o", "platform/gpt-4o-mini"]);
  });

  it("is the YAML the README's Multi-team clusters section shows, in full (copy-paste)", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("\n## Multi-team clusters\n"));
    const block = /\n```yaml\n([\s\S]*?)```\n/.exec(section)?.[1];
    expect(block).toBe(readFileSync(join(ROOT, "docs/examples/multi-team.yaml"), "utf8"));
  });

  it("refuses a cross-namespace provider without a grant, and a reserved model name from another namespace", () => {
    const text = readFileSync(join(ROOT, "docs/examples/multi-team.yaml"), "utf8")
      .replace("to: [{ name: gpt-4o-mini }]\n", "to: [{ name: gpt-4o }]\n")
      .replace("modelName: team-a-support", "modelName: assistant\n  priority: 1000");
    const r = runCli(["render", "-f", join(dirWith({ "mt.yaml": text }), "mt.yaml")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ModelRoute team-b\/summarizer: spec\.candidates\[0\]\.name: .*no ModelReferenceGrant/);
    expect(r.stderr).toMatch(/ModelRoute team-a\/support-bot: spec\.parentRefs: .*reserves modelName "assistant"/);
  });

  it("compiles spec.evaluation (judge, defaults) and a canary rollout from ModelRoute YAML", () => {
    const route = `apiVersion: routewise.dev/v1alpha1
kind: ModelRoute
metadata: { name: chat }
spec:
  modelName: chat
  candidates: [{ name: small }]
  baseline: { name: small }
  evaluation: { judge: { name: small }, sampleRate: 0.1 }
  rollout: { mode: canary }
`;
    const dir = dirWith({ "p.yaml": PROVIDER, "r.yaml": route });
    const r = runCli(["render", "-f", dir]);
    expect(r.stderr).toBe("");
    const config = JSON.parse(r.stdout) as { routes: Record<string, unknown>[] };
    expect(config.routes[0]).toMatchObject({
      rollout: "canary",
      canaryPercent: 10,
      evaluation: { judge: "default/small", sampleRate: 0.1, maxCostPerHourUSD: 5 },
    });
  });

  it("names file, line and field when the judge of spec.evaluation does not exist", () => {
    const route = `apiVersion: routewise.dev/v1alpha1
kind: ModelRoute
metadata: { name: chat }
spec:
  modelName: chat
  candidates: [{ name: small }]
  baseline: { name: small }
  evaluation:
    judge: { name: ghost }
`;
    const dir = dirWith({ "p.yaml": PROVIDER, "r.yaml": route });
    const r = runCli(["render", "-f", dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${join(dir, "r.yaml")}:9: ModelRoute default/chat: spec.evaluation.judge.name: ModelProvider default/ghost not found (ProviderNotFound)`,
    );
  });

  it("names file, line, object and provider when a route references a missing provider", () => {
    const dir = dirWith({
      "p.yaml": PROVIDER,
      "r.yaml": `apiVersion: routewise.dev/v1alpha1
kind: ModelRoute
metadata: { name: chat }
spec:
  modelName: chat
  baseline: { name: small }
  candidates:
    - name: small
    - name: ghost
`,
    });
    const r = runCli(["render", "-f", dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(
      `${join(dir, "r.yaml")}:9: ModelRoute default/chat: spec.candidates[1].name: ModelProvider default/ghost not found (ProviderNotFound)`,
    );
  });

  it("names the file and line of unparsable YAML", () => {
    const r = runCli(["render", "-f", join(dirWith({ "bad.yaml": "a: [1, 2\nb: c\n" }), "bad.yaml")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.yaml:\d+: invalid YAML/);
    expect(r.stderr).not.toContain("    at ");
  });

  it("names the field of a schema violation", () => {
    const r = runCli(["render", "-f", dirWith({ "p.yaml": PROVIDER.replace("score: 60", "score: 160") })]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("p.yaml:4: ModelProvider default/small: spec.quality.score: must be <= 100");
  });

  it("reports a CEL rule's message", () => {
    const r = runCli(["render", "-f", dirWith({ "p.yaml": PROVIDER.replace("type: simulated", "type: openai") })]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("spec.baseURL is required unless spec.type is simulated");
  });

  it("reports a missing Secret for a provider that needs one", () => {
    const p = PROVIDER.replace(
      "type: simulated",
      "type: openai, baseURL: 'http://x/v1', auth: { secretRef: { name: key } }",
    );
    const r = runCli(["render", "-f", dirWith({ "p.yaml": p })]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("spec.auth.secretRef.name: Secret default/key not found (SecretNotFound)");
  });

  it("reports an unknown Routewise kind", () => {
    const r = runCli([
      "render",
      "-f",
      dirWith({ "x.yaml": "apiVersion: routewise.dev/v1alpha1\nkind: ModelRouter\nmetadata: { name: x }\n" }),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown kind "ModelRouter"');
  });

  it("names file and line of an alias bomb and goes on with the other files (issue 15 #11)", () => {
    const laughs = [
      "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]",
      ...Array.from({ length: 8 }, (_, i) => {
        const prev = String.fromCharCode(97 + i);
        const name = String.fromCharCode(98 + i);
        return `${name}: &${name} [*${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}, *${prev}]`;
      }),
    ].join("\n");
    const dir = dirWith({ "a-bomb.yaml": `${laughs}\n`, "b-ghost.yaml": PROVIDER.replace("score: 60", "score: 600") });
    const r = runCli(["render", "-f", dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/a-bomb\.yaml:\d+: .*alias/i);
    expect(r.stderr).toContain("b-ghost.yaml:4: ModelProvider default/small: spec.quality.score: must be <= 100");
    expect(r.stderr).not.toContain("    at ");
  });

  it("refuses a number YAML reads as Infinity, naming file, line and field (issue 15 #11)", () => {
    const r = runCli([
      "render",
      "-f",
      dirWith({ "p.yaml": PROVIDER.replace("inputPerMillion: 1", "inputPerMillion: 1e400") }),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "p.yaml:4: ModelProvider default/small: spec.pricing.inputPerMillion: must be a finite number",
    );
  });

  it("fails on an empty file instead of rendering nothing (issue 15 #11)", () => {
    const dir = dirWith({ "empty.yaml": "", "comments.yaml": "# nothing here\n" });
    const r = runCli(["render", "-f", join(dir, "empty.yaml")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/empty\.yaml:1: the file has no YAML documents/);
    expect(runCli(["render", "-f", join(dir, "comments.yaml")]).code).toBe(1);
  });

  it("fails clearly when a path does not exist", () => {
    const r = runCli(["render", "-f", "/does/not/exist"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("error: /does/not/exist: no such file or directory\n");
  });

  it("uses --namespace for objects without one", () => {
    const r = runCli(["render", "-n", "team-b", "-f", "examples/"]);
    expect(JSON.parse(r.stdout)).toMatchObject({ routes: [{ source: { namespace: "team-b" } }, {}, {}] });
  });

  it("compiles the README's client-keys example to salted hashes, never the key, and v2", () => {
    const salt = "ab".repeat(16);
    const args = ["render", "--salt", salt, "-f", "docs/examples/client-keys.yaml"];
    const r = runCli(args);
    expect(r.stderr).toBe("");
    const config = JSON.parse(r.stdout) as RouterConfig;
    expect(config.version).toBe("routewise.dev/router-config/v2");
    expect(config.clientKeys?.keys).toEqual([
      {
        name: "default/search-bot",
        team: "search",
        sha256: createHash("sha256").update(`${salt}rw-search-bot-4f1c9a7e2b`).digest("hex"),
        routes: ["assistant"],
        budget: { usd: 5, period: "day", onExhausted: "reject", degradeAt: 0.8 },
      },
    ]);
    expect(config.clientKeys?.teams).toEqual([
      { team: "search", budget: { usd: 200, period: "month", onExhausted: "degrade", degradeAt: 0.8 } },
    ]);
    expect(r.stdout).not.toContain("rw-search-bot-4f1c9a7e2b");
    // The same salt renders the same config (a GitOps diff shows only real changes).
    expect(runCli(args).stdout).toBe(r.stdout);
  });

  it("fails at the file and line of a ModelClientKey whose Secret is missing", () => {
    const key = `apiVersion: routewise.dev/v1alpha1
kind: ModelClientKey
metadata: { name: bot }
spec:
  secretRef: { name: bot-key }
  routes: ["*"]
`;
    const dir = dirWith({ "p.yaml": PROVIDER, "r.yaml": ROUTE, "k.yaml": key });
    const r = runCli(["render", "-f", dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${join(dir, "k.yaml")}:5: ModelClientKey default/bot: spec.secretRef.name: Secret default/bot-key not found (SecretNotFound)`,
    );
  });

  it("refuses a --salt that is not hex", () => {
    const r = runCli(["render", "--salt", "not-hex", "-f", "examples/"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--salt must be 32 to 128 lowercase hex digits");
  });

  it("lists the subcommands in --help", () => {
    const r = runCli(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("render");
  });
});
