/** ProviderConfig and CallOptions builders for adapter tests and benchmarks. */
import type { ProviderConfig } from "../../router/config/types.js";
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
