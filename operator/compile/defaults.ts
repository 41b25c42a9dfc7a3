/**
 * What the compiler puts in the RouterConfig for a field the user left out, keyed by the field's path in the
 * CRD schema (`[]` for array items) and written in the CRD's own units (durations as "120s").
 *
 * The CRDs state the same values, as a structural `default:` or in the field's description (what
 * `kubectl explain` shows). defaults.test.ts checks the two agree both ways: every `default:` in crds/ is here with
 * the same value, and every entry here is either the field's `default:` or the default its description states.
 * The compiler keeps its own table (rather than reading crds/ at run time) so it stays a pure function of its
 * input, and because most of these are documented defaults, not structural ones: making them structural would
 * change what the API server stores.
 */
export const PROVIDER_DEFAULTS = {
  "spec.auth.secretRef.key": "apiKey",
  "spec.proxy.from": "Environment",
  "spec.tls.caSecretRef.key": "ca.crt",
  "spec.contextWindow": 8192,
  "spec.maxOutputTokens": 4096,
  "spec.capabilities.tools": false,
  "spec.capabilities.vision": false,
  "spec.capabilities.jsonMode": false,
  "spec.capabilities.streaming": true,
  "spec.capabilities.embeddings": false,
  "spec.capabilities.responses": false,
  "spec.limits.maxConcurrency": 0,
  "spec.limits.requestsPerMinute": 0,
  "spec.limits.tokensPerMinute": 0,
  "spec.timeouts.request": "120s",
  "spec.timeouts.connect": "5s",
  "spec.simulated.timeToFirstToken": "0s",
  "spec.simulated.tokensPerSecond": 0,
  "spec.simulated.failureRate": 0,
  "spec.simulated.outputTokens": 64,
} as const;

export const ROUTE_DEFAULTS = {
  "spec.priority": 0,
  "spec.candidates[].weight": 1,
  "spec.objective.minQualityRetention": 0.95,
  "spec.objective.minConfidence": 0.5,
  "spec.rules[].match.headers[].type": "Exact",
  "spec.retry.attempts": 2,
  "spec.retry.backoff.base": "200ms",
  "spec.retry.backoff.max": "2s",
  "spec.retry.retryOn": [408, 429, 500, 502, 503, 504],
  "spec.fallback.enabled": true,
  "spec.fallback.maxProviders": 3,
  "spec.fallback.midStream": "error-event",
  "spec.timeouts.request": "300s",
  "spec.timeouts.attempt": "60s",
  "spec.timeouts.streamIdle": "60s",
  "spec.circuitBreaker.consecutiveFailures": 5,
  "spec.circuitBreaker.cooldown": "30s",
  "spec.circuitBreaker.window": "60s",
  "spec.classifier.type": "builtin",
  "spec.rollout.mode": "enforce",
  // canary's share of requests the policy decides, in percent.
  "spec.rollout.percent": 10,
  // Auto shadow applies to enforce and canary (a shadow route is already shadow).
  "spec.rollout.autoShadow": true,
  // Judge samples in the window before QualityMet and auto shadow count the measurement.
  "spec.rollout.minSamples": 50,
  // Share of requests sent to the judge, and the evaluation spend cap per route, replica and hour.
  "spec.evaluation.sampleRate": 0.05,
  "spec.evaluation.maxCostPerHourUSD": 5,
  "spec.exposeProviderModels": false,
  "spec.strategy": "single",
  // Learning (ADR 12): no exploration unless asked, a window of 1,000 labels, a prior worth 20 samples.
  "spec.learning.exploration": 0,
  "spec.learning.window": 1000,
  "spec.learning.priorSamples": 20,
  // The cascade's checks, in order, and its thresholds (ADR 11; stages default to the cheaper candidates).
  "spec.cascade.verifiers": ["structure", "math", "refusal"],
  "spec.cascade.judgeThreshold": 7,
  "spec.cascade.logprobsThreshold": -1,
  // Budgets (issue 17): degrade past 80% unless told to reject.
  "spec.budget.onExhausted": "degrade",
  "spec.budget.degradeAt": 0.8,
} as const;

export const GATEWAY_DEFAULTS = {
  "spec.controllerName": "routewise.dev/operator",
  "spec.allowedRoutes.namespaces.from": "Same",
  "spec.modelNames[].namespaces.from": "Same",
  "spec.teamBudgets[].onExhausted": "degrade",
  "spec.teamBudgets[].degradeAt": 0.8,
} as const;

export const CLIENT_KEY_DEFAULTS = {
  "spec.secretRef.key": "apiKey",
  "spec.budget.onExhausted": "degrade",
  "spec.budget.degradeAt": 0.8,
} as const;

export const GRANT_DEFAULTS = {
  "spec.from[].group": "routewise.dev",
  "spec.from[].kind": "ModelRoute",
  "spec.to[].group": "routewise.dev",
  "spec.to[].kind": "ModelProvider",
} as const;
