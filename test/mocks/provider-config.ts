/** ProviderConfig and CallOptions builders for adapter tests and benchmarks. */
import type { ProviderConfig, RouteConfig } from "../../router/config/types.js";
import type { CallOptions } from "../../router/providers/types.js";

/** The API key tests send; asserted never to appear in error messages. */
export const TEST_API_KEY = "sk-test-SECRET-0123456789abcdef";

export function providerConfig(overrides: Partial<ProviderConfig> = {}): ProviderConfig {
  return {
    id: "default/test-provider",
    type: "openai",
    baseURL: "http://127.0.0.1:1/v1",
    model: "upstream-model",
    credentialKey: "test-key",
    azure: null,
    pricing: { inputPerMillion: 1, outputPerMillion: 2, cachedInputPerMillion: 0.5 },
    contextWindow: 128_000,
    maxOutputTokens: 8192,
    capabilities: { tools: true, vision: true, jsonMode: true, streaming: true },
    quality: { score: 80, domains: {} },
    limits: { maxConcurrency: 0, requestsPerMinute: 0, tokensPerMinute: 0 },
    timeouts: { requestMs: 5_000, connectMs: 1_000 },
    simulated: null,
    headers: {},
    ...overrides,
  };
}

export function callOptions(overrides: Partial<CallOptions> = {}): CallOptions {
  return { signal: new AbortController().signal, apiKey: TEST_API_KEY, requestId: "req-1", ...overrides };
}

/** A RouteConfig with the compiler's defaults, for dispatch tests. */
export function routeConfig(overrides: Partial<RouteConfig> = {}): RouteConfig {
  return {
    name: "chat",
    source: { namespace: "default", name: "chat" },
    candidates: [],
    baseline: "default/test-provider",
    objective: { minQualityRetention: 0.95, maxCostPerRequestUSD: null, minConfidence: 0.5 },
    rules: [],
    retry: { attempts: 2, backoffBaseMs: 1, backoffMaxMs: 5, retryOn: [408, 429, 500, 502, 503, 504] },
    fallback: { enabled: true, maxProviders: 3 },
    timeouts: { requestMs: 10_000, attemptMs: 5_000 },
    circuitBreaker: { consecutiveFailures: 2, cooldownMs: 30_000 },
    midStreamFailure: "error-event",
    classifier: { type: "builtin" },
    rollout: "enforce",
    exposeProviderModels: false,
    ...overrides,
  };
}
