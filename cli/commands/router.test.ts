import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseRouterConfig } from "../../router/config/parse.js";
import { configSource } from "./router.js";

const POLICIES = `apiVersion: routewise.dev/v1alpha1
kind: ModelProvider
metadata: { name: small }
spec: { type: simulated, model: s, pricing: { inputPerMillion: 1, outputPerMillion: 1 }, quality: { score: 60 } }
---
apiVersion: routewise.dev/v1alpha1
kind: ModelProvider
metadata: { name: judge }
spec:
  type: openai
  baseURL: https://api.openai.com/v1
  model: gpt-4o
  auth: { secretRef: { name: keys } }
  pricing: { inputPerMillion: 5, outputPerMillion: 15 }
  quality: { score: 88 }
---
apiVersion: v1
kind: Secret
metadata: { name: keys }
stringData: { apiKey: sk-judge }
---
apiVersion: routewise.dev/v1alpha1
kind: ModelRoute
metadata: { name: chat }
spec:
  modelName: chat
  candidates: [{ name: small }]
  baseline: { name: small }
  evaluation: { judge: { name: judge } }
  rollout: { mode: canary, percent: 25 }
`;

describe("routewise router --config DIR (standalone)", () => {
  it("serves spec.evaluation and a canary rollout from ModelRoute YAML, with the judge's key", async () => {
    const dir = mkdtempSync(join(tmpdir(), "routewise-standalone-"));
    writeFileSync(join(dir, "policies.yaml"), POLICIES);
    const loaded = await configSource({ config: dir, namespace: "default" }).load();
    const config = parseRouterConfig(loaded.config);
    expect(config.routes[0]).toMatchObject({
      rollout: "canary",
      canaryPercent: 25,
      evaluation: { judge: "default/judge", sampleRate: 0.05, maxCostPerHourUSD: 5 },
    });
    expect(loaded.credentials.get("default.judge")).toBe("sk-judge");
  });
});
