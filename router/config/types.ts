/**
 * The RouterConfig contract: the one document the operator (or the CLI) compiles from ModelProvider and
 * ModelRoute objects, and the only thing the router runs on. No Kubernetes types, no secret values.
 *
 * Compatibility: a router accepts the versions in ROUTER_CONFIG_VERSIONS. A change that an older router could
 * misread bumps the version; the router refuses a config of another version and keeps its last good one.
 * Fields it does not know are ignored (an additive change keeps the version).
 *
 * v2 (issue 17, docs/adr/0016-client-keys-and-budgets.md) is v1 plus the fields an older router must not ignore:
 * `clientKeys` (it would serve the gateway without authentication) and route `budget`s (it would never stop the
 * spending). Producers write v2 only when a config has one of them (configVersionFor in version.ts), so a v1-only
 * router keeps running every config that has none and refuses, keeping its last good config, one that has.
 *
 * router-config.schema.json is generated from these types (npm run gen:config-schema; a unit test fails when it
 * is stale) and is what parse.ts validates against, so JSDoc tags like `@minimum` here are enforced there.
 */
export const ROUTER_CONFIG_VERSION = "routewise.dev/router-config/v1";
/** v1 plus client keys and budgets (see above). */
export const ROUTER_CONFIG_VERSION_V2 = "routewise.dev/router-config/v2";
export type RouterConfigVersion = typeof ROUTER_CONFIG_VERSION | typeof ROUTER_CONFIG_VERSION_V2;
export const ROUTER_CONFIG_VERSIONS: readonly RouterConfigVersion[] = [ROUTER_CONFIG_VERSION, ROUTER_CONFIG_VERSION_V2];

export const PROVIDER_TYPES = ["openai", "azure-openai", "anthropic", "simulated"] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

export const TASKS = ["chat", "qa", "summarization", "extraction", "code", "math", "reasoning", "creative"] as const;
export type Task = (typeof TASKS)[number];

export const DOMAINS = ["general", "code", "science", "math", "legal", "medical", "finance"] as const;
export type Domain = (typeof DOMAINS)[number];

export const VERIFIERS = ["structure", "math", "refusal", "logprobs", "judge"] as const;
export type VerifierName = (typeof VERIFIERS)[number];

export const ROLLOUT_MODES = ["enforce", "shadow", "canary"] as const;
export type RolloutMode = (typeof ROLLOUT_MODES)[number];

export interface RouterConfig {
  /** v2 exactly when clientKeys is set or a route has a budget (configVersionFor). */
  version: RouterConfigVersion;
  /** sha256 (hex, first 16 chars) of the canonical JSON of everything but this field. */
  hash: string;
  /** Sorted by id. */
  providers: ProviderConfig[];
  /** Sorted by name. */
  routes: RouteConfig[];
  /**
   * Client keys compiled from ModelClientKey objects (issue 17), as salted hashes only, and the gateway's team
   * budgets. Absent or null: no keys in the config (the router's --api-keys file, if any, still applies).
   */
  clientKeys?: ClientKeysConfig | null;
}

export const BUDGET_PERIODS = ["day", "week", "month"] as const;
/** Periods are calendar periods in UTC: a day from 00:00, a week from Monday 00:00, a month from the 1st. */
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/** A spend limit on a client key, a team or a route (issue 17). */
export interface BudgetConfig {
  /**
   * USD per period.
   * @minimum 0
   */
  usd: number;
  period: BudgetPeriod;
  /**
   * degrade: past `degradeAt` of the budget, the cheapest candidate meeting a relaxed objective; once spent, the
   * cheapest candidate only. reject: once spent, 429 insufficient_quota until the period resets.
   */
  onExhausted: "degrade" | "reject";
  /**
   * Share of the budget after which requests step down to cheaper models (a rejecting budget too; 1: never).
   * @minimum 0
   * @maximum 1
   */
  degradeAt: number;
}

/** One client key: who it is, what it may use, what it may spend. Never the key itself. */
export interface ClientKeyConfig {
  /** `<namespace>/<name>` of the ModelClientKey: the name in logs, metrics and status. */
  name: string;
  /** The key's `team` label, or null. */
  team: string | null;
  /**
   * Lowercase hex sha256 of the gateway's salt (as UTF-8) followed by the key.
   * @pattern ^[0-9a-f]{64}$
   */
  sha256: string;
  /** Route names (model names) the key may use, or ["*"]. */
  routes: string[];
  budget: BudgetConfig | null;
}

export interface ClientKeysConfig {
  /**
   * Random per gateway, public (it only stops precomputed tables); hex.
   * @pattern ^[0-9a-f]{32,128}$
   */
  salt: string;
  /** Sorted by name. */
  keys: ClientKeyConfig[];
  /** Budgets per team label, sorted by team. */
  teams: { team: string; budget: BudgetConfig }[];
}

export interface Pricing {
  /**
   * USD per 1M input (prompt) tokens.
   * @minimum 0
   */
  inputPerMillion: number;
  /**
   * USD per 1M output (completion) tokens.
   * @minimum 0
   */
  outputPerMillion: number;
  /**
   * USD per 1M cached input tokens; equals inputPerMillion when the provider has no cache discount.
   * @minimum 0
   */
  cachedInputPerMillion: number;
}

export interface Capabilities {
  tools: boolean;
  vision: boolean;
  jsonMode: boolean;
  streaming: boolean;
  /** Continues a trailing assistant message (assistant prefill). Absent (older configs): false. */
  prefill?: boolean;
  /**
   * Serves POST /v1/embeddings (an embedding model behind an API that speaks it: openai, azure-openai,
   * simulated; never anthropic). Absent: false.
   */
  embeddings?: boolean;
  /**
   * Speaks the OpenAI Responses API at POST {baseURL}/responses (type openai only): POST /v1/responses requests
   * routed here are passed through instead of translated to chat completions. Absent: false.
   */
  responses?: boolean;
}

export interface Quality {
  /** Overall quality on the 0–100 scale documented in the README ("How routing decides"). */
  score: number;
  /** Per-domain overrides on the same scale. */
  domains: Partial<Record<Domain, number>>;
}

export interface ProviderLimits {
  /** Max requests in flight to this provider from one router replica; 0 = unlimited. */
  maxConcurrency: number;
  /** Requests per minute per replica; 0 = unlimited. */
  requestsPerMinute: number;
  /** Tokens (input + output) per minute per replica; 0 = unlimited. */
  tokensPerMinute: number;
}

export interface SimulatedBehaviour {
  /** Time to first token, milliseconds. */
  timeToFirstTokenMs: number;
  /** Output speed. */
  tokensPerSecond: number;
  /** Probability in [0,1] that a request fails with a 503. */
  failureRate: number;
  /** Output tokens for a reply when the request sets no max_tokens. */
  outputTokens: number;
}

export interface ProviderConfig {
  /** "namespace/name" of the ModelProvider. */
  id: string;
  type: ProviderType;
  /** Base URL up to and including the API version path (e.g. https://api.openai.com/v1). Empty for simulated. */
  baseURL: string;
  /** Upstream model id sent in requests (for azure-openai: informational; the deployment decides). */
  model: string;
  /** Key of the API key in the credentials directory, or null when the provider needs none. */
  credentialKey: string | null;
  azure: { deployment: string; apiVersion: string } | null;
  pricing: Pricing;
  contextWindow: number;
  maxOutputTokens: number;
  capabilities: Capabilities;
  quality: Quality;
  limits: ProviderLimits;
  timeouts: { requestMs: number; connectMs: number };
  simulated: SimulatedBehaviour | null;
  /** Extra headers sent upstream (non-secret). */
  headers: Record<string, string>;
  /** How the router reaches the provider: proxy and trusted CAs. Absent (older configs): environment, system CAs. */
  egress?: EgressConfig;
}

/**
 * environment: HTTPS_PROXY / HTTP_PROXY / NO_PROXY of the router process (none set: direct); direct: never a
 * proxy; url: the forward proxy at proxyURL (HTTP CONNECT for https upstreams).
 */
export interface EgressConfig {
  proxy: "environment" | "direct" | "url";
  /** With proxy url: the proxy's URL (http or https, no credentials). */
  proxyURL: string | null;
  /**
   * Key, in the credentials directory, of a PEM CA bundle the provider's TLS certificate must chain to (in
   * addition to the system CAs), or null.
   */
  caKey: string | null;
}

export interface Range {
  min: number | null;
  max: number | null;
}

export interface HeaderMatch {
  name: string;
  type: "Exact" | "RegularExpression";
  value: string;
}

export interface RuleMatch {
  tasks: Task[];
  domains: Domain[];
  difficulty: Range;
  promptTokens: Range;
  headers: HeaderMatch[];
  /** Matches the request body's `metadata` object (string values, exact). */
  metadata: Record<string, string>;
}

export interface RuleConfig {
  name: string;
  match: RuleMatch;
  /** Provider ids to use, in order (the first one that passes capability filters answers). */
  pin: string[];
  /** Provider ids removed from the candidates. */
  exclude: string[];
}

export interface CandidateConfig {
  provider: string;
  /** Load-balancing weight among candidates serving the same upstream model. */
  weight: number;
}

export interface ObjectiveConfig {
  /**
   * Minimum predicted quality relative to the baseline, in (0,1].
   * @exclusiveMinimum 0
   * @maximum 1
   */
  minQualityRetention: number;
  /** Max estimated USD per request; null = no cap. */
  maxCostPerRequestUSD: number | null;
  /** When the classifier's confidence is below this, choose as if the prompt were hard. */
  minConfidence: number;
}

export interface RetryConfig {
  /** Attempts per candidate including the first. */
  attempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** HTTP statuses that are retried and fallen back from. */
  retryOn: number[];
}

export interface EvaluationConfig {
  /** Provider id of the judge. */
  judge: string;
  /**
   * Fraction of requests evaluated, in [0,1] (deterministic per request id).
   * @minimum 0
   * @maximum 1
   */
  sampleRate: number;
  /**
   * Evaluation spend cap per route per router replica per hour (baseline and judge calls); null = no cap.
   * @minimum 0
   */
  maxCostPerHourUSD: number | null;
}

/**
 * A cascade: the stages answer in order, each answer checked by the verifiers; the first one every verifier
 * accepts is returned, else the request escalates, and after the last stage the route's normal choice answers.
 */
export interface CascadeConfig {
  /** Provider ids, cheapest first. */
  stages: string[];
  /** Checks run on each stage's answer, in this order; the first rejection escalates. */
  verifiers: VerifierName[];
  /** `judge` verifier: the provider that grades the answer alone (1–10), or null (then `judge` is not run). */
  judge: string | null;
  /**
   * `judge` verifier: accept when the grade is at least this.
   * @minimum 1
   * @maximum 10
   */
  judgeThreshold: number;
  /** `logprobs` verifier: reject below this mean token log-probability. */
  logprobsThreshold: number;
}

/**
 * Learning from the route's own judged traffic (issue 14 §2, docs/adr/0012-learned-quality.md). Absent or null: the
 * router decides from declared scores only.
 */
export interface LearningConfig {
  /**
   * Request tags (metadata.tag or the x-routewise-tag header) that form segments of their own; any other tag
   * counts as the matched rule's name, else "-", so segment labels stay bounded.
   */
  tags: string[];
  /**
   * Share of policy decisions sent to a uniformly random feasible candidate, so models the policy never picks still
   * get evidence; every decision logs its propensity. 0 = none.
   * @minimum 0
   * @maximum 0.5
   */
  exploration: number;
  /**
   * Labels (judged samples) per learning window: the learner and the SLO controller use the most recent this many.
   * @minimum 1
   */
  window: number;
  /**
   * Strength of the declared-score prior, in pseudo-samples. Absent: 20.
   * @minimum 0
   */
  priorSamples?: number;
}

/** One learned cell: a candidate's quality relative to the baseline in one segment. */
export interface LearnedEntry {
  /** The segment key `tag|task|d<bucket>` (router/learn/segment.ts). */
  segment: string;
  /** Provider id. */
  provider: string;
  /** Posterior mean retention (routed / baseline score), shrunk toward the declared prediction. */
  estimate: number;
  /** One-sided 95% lower confidence bound of the retention, judge noise corrected. */
  lower: number;
  /** Judged samples behind the entry. */
  samples: number;
}

/**
 * What the control plane (or a standalone router) learned for a route. Additive: an older router ignores it and
 * decides from declared scores, which is the behaviour before learning, not a misread (no version bump, ADR 12).
 */
export interface LearnedQuality {
  /** Sorted by segment, then provider. */
  entries: LearnedEntry[];
  /**
   * The SLO controller's effective threshold on predicted (declared) retention, used where no entry applies.
   * Null: the objective's minQualityRetention.
   */
  threshold: number | null;
  /** The judge's estimated flip rate used for the bounds. */
  flipRate: number;
  /** Labels in the window the table was computed from. */
  labels: number;
}

/** @discriminator type */
export type ClassifierConfig = { type: "builtin" } | { type: "custom"; modelPath: string };

export interface RouteConfig {
  /** The model name clients send. */
  name: string;
  /** The ModelRoute compiled, and its metadata.generation when known (the version being served). */
  source: { namespace: string; name: string; generation?: number };
  /** Ordered from strongest to weakest by declared quality score (ties: cheaper first). */
  candidates: CandidateConfig[];
  baseline: string;
  objective: ObjectiveConfig;
  rules: RuleConfig[];
  retry: RetryConfig;
  fallback: { enabled: boolean; maxProviders: number };
  timeouts: {
    requestMs: number;
    attemptMs: number;
    /** Streams: sending to the first content chunk. Absent (older configs): attemptMs. */
    firstTokenMs?: number;
    /** Streams: longest gap between chunks once content flows. Absent (older configs): 60 s. */
    streamIdleMs?: number;
  };
  circuitBreaker: {
    consecutiveFailures: number;
    cooldownMs: number;
    /** Failures older than this do not count. Absent (older configs): 60 s. */
    windowMs?: number;
  };
  /**
   * What the router does when a stream fails after content reached the client: end it with an error event, or
   * continue it on the next candidate that accepts an assistant prefill.
   */
  midStreamFailure: "error-event" | "continue";
  /** The request analyzer; a custom one is a mounted model directory (see router/classify/custom-classifier.ts). */
  classifier: ClassifierConfig;
  /**
   * enforce: every request goes where the policy decides; shadow: the policy decides, the baseline answers;
   * canary: the policy decides `canaryPercent` of requests (deterministic per request id), the baseline the rest.
   * The operator programs `shadow` while a route's measured quality is below its objective (auto shadow).
   */
  rollout: RolloutMode;
  /**
   * canary: share of requests, in percent, that the policy decides. Absent: 100.
   * @minimum 0
   * @maximum 100
   */
  canaryPercent?: number;
  /**
   * single: one provider answers (with retries and fallbacks); cascade: cheap stages first, checked by verifiers.
   * Absent (older configs): single. An older router that does not know cascades serves the route as single.
   */
  strategy?: "single" | "cascade";
  /** With strategy cascade. */
  cascade?: CascadeConfig | null;
  /** Judge sampling of this route's answers (docs/adr/0010-measured-quality.md). Absent or null: none. */
  evaluation?: EvaluationConfig | null;
  /** Learning from judged traffic: segments' tags, exploration, window (ADR 12). Absent or null: none. */
  learning?: LearningConfig | null;
  /** The learned table (ADR 12): written by the operator, or computed in-process by a standalone router. */
  learned?: LearnedQuality | null;
  /** When true, GET /v1/models also lists the candidates' upstream models as directly addressable. */
  exposeProviderModels: boolean;
  /** The route's spend limit (issue 17). Absent or null: none. */
  budget?: BudgetConfig | null;
}
