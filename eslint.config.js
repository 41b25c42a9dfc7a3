// @ts-check
import eslint from "@eslint/js";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import importX from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

/**
 * The router's folders in the order a request's data flows (ADR 7). A folder may import only folders before
 * it; main.ts (the wiring) comes last. prng.ts is a leaf shared by the simulated provider and the trainer.
 */
const ROUTER_LAYERS = [
  ["config", "prng.ts"],
  ["classify", "metrics"],
  ["select", "openai"],
  // The Anthropic Messages wire format, pure (issue 16): both directions of the OpenAI ⇄ Anthropic translation,
  // shared by the Anthropic provider adapter and the /v1/messages endpoint.
  ["anthropic-wire"],
  // Pure learning from judged traffic (issue 14 §2, ADR 12): segments, the learner, the SLO controller. It may
  // use config, classify types and select; the operator and the CLI may import it too (they run the same pure
  // functions on Prometheus data and in routewise simulate).
  ["learn"],
  // Pure answer checks of cascades (issue 14).
  ["verify"],
  // Siblings: the upstream adapters, and the state replicas share (issue 17: provider limits and budget spend, in
  // memory or Redis), which dispatch (limits) and accounting (spend) use. See docs/adr/0014.
  ["providers", "state"],
  ["accounting"],
  // Siblings: dispatch answers the client, evaluation judges answers after the response ended (ADR 10).
  ["dispatch", "evaluation"],
  ["http"],
  ["main.ts"],
];
const ROUTER_FOLDERS = ROUTER_LAYERS.flat();

/** import-x/no-restricted-paths zones: each router folder, from everything at its layer or later. */
function routerLayerZones() {
  return ROUTER_LAYERS.flatMap((layer, i) =>
    layer.map((target) => ({
      target: `./router/${target}`,
      from: ROUTER_LAYERS.slice(i)
        .flat()
        .filter((f) => f !== target)
        .map((f) => `./router/${f}`),
      message: `router/${target} comes before these in the request flow (config → classify/metrics → select/openai → anthropic-wire → learn → verify → providers/state → accounting → dispatch/evaluation → http → main); see docs/adr/0007.`,
    })),
  ).filter((zone) => zone.from.length > 0);
}

/** Everything in router/ but the folders a consumer may use. */
const routerExcept = (...allowed) => ROUTER_FOLDERS.filter((f) => !allowed.includes(f)).map((f) => `./router/${f}`);

const BOUNDARY_ZONES = [
  ...routerLayerZones(),
  {
    // One home per concern (ADR 7): the request record (router/accounting) is the only writer of metrics; http
    // serves them and main.ts registers them. Providers, dispatch, evaluation and the pure stages report to it.
    target: routerExcept("metrics", "accounting", "http", "main.ts"),
    from: ["./router/metrics"],
    message:
      "Only router/accounting writes metrics (router/http serves them, main.ts wires them); report to the request record instead.",
  },
  {
    target: "./router",
    from: ["./analyzer", "./operator", "./cli", "./scripts", "./test", "./bench"],
    message: "The router stands alone: it never imports the analyzer, operator, CLI, scripts, tests or benchmarks.",
  },
  {
    target: "./operator",
    // router/learn: the operator computes the learned table and the SLO threshold with the router's pure functions.
    from: routerExcept("config", "learn"),
    message: "The operator shares only the config contract (router/config) and the pure learner (router/learn).",
  },
  {
    target: "./analyzer",
    from: routerExcept("config", "classify", "verify", "prng.ts"),
    message: "The analyzer may use the config contract and the request-time analyzer it trains (router/classify).",
  },
  {
    target: "./cli",
    // `routewise simulate` / `replay` (issue 14) run the route's real policy offline: selection, the cascade's
    // verifiers and the learner are pure, and prng.ts is the seeded random source the router's tests share.
    from: routerExcept("config", "classify", "select", "verify", "learn", "prng.ts", "main.ts"),
    message:
      "The CLI wires the router through router/main.ts; besides it only router/config, router/classify and the pure policy code (select, verify, learn, prng.ts).",
  },
];

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".tools/", "manifests/", "coverage/", "**/*.gen.ts"] },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["*.js", "bin/*.js"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // client-node's model classes (V1ConfigMap, ...) are plain data shapes; its serializer accepts object literals.
      "@typescript-eslint/no-unsafe-class-instance-assignment": "off",
      "@typescript-eslint/no-confusing-void-expression": ["error", { ignoreArrowShorthand: true }],
      complexity: ["error", 10],
      "max-depth": ["error", 4],
      "max-params": ["error", 5],
      "no-restricted-syntax": ["error", { selector: "ExportDefaultDeclaration", message: "Use named exports." }],
    },
  },
  {
    files: ["**/*.ts"],
    plugins: { "import-x": importX },
    settings: { "import-x/resolver-next": [createTypeScriptImportResolver({ project: "tsconfig.json" })] },
    rules: { "import-x/no-cycle": ["error", { ignoreExternal: true }] },
  },
  {
    // The boundaries hold for shipped code; a unit test beside it may use test/mocks and neighbouring stages.
    files: ["**/*.ts"],
    ignores: ["**/*.test.ts", "test/**", "bench/**"],
    rules: { "import-x/no-restricted-paths": ["error", { zones: BOUNDARY_ZONES }] },
  },
  {
    // Selection is pure: no I/O of any kind. The request-time analyzer reads its model files when a config
    // loads, but never touches the network.
    files: ["router/select/**/*.ts", "router/classify/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["node:http", "node:https", "node:net", "node:dgram", "node:tls", "undici", "express"],
              message: "select and classify are pure: no network I/O.",
            },
          ],
        },
      ],
    },
  },
  {
    // Selection and learning are pure: no I/O, no runtime state (learn runs in the router, the operator and the CLI).
    files: ["router/select/**/*.ts", "router/learn/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["node:*", "onnxruntime-node"], message: "select and learn are pure: no I/O, no runtime state." },
          ],
        },
      ],
    },
  },
  {
    files: ["**/*.test.ts", "test/**/*.ts", "bench/**/*.ts"],
    rules: { "@typescript-eslint/no-non-null-assertion": "off", complexity: "off" },
  },
  {
    files: ["*.js", "bin/*.js", "eslint.config.js", "vitest.config.ts"],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // Tool configuration files must use default exports.
    files: ["eslint.config.js", "vitest.config.ts"],
    rules: { "no-restricted-syntax": "off" },
  },
);
