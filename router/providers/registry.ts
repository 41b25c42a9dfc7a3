/**
 * One adapter per provider type, sharing one keep-alive HTTP client. Closing every adapter closes the client
 * (it is reference-counted); a client passed in is closed the same way.
 */
import type { ProviderType } from "../config/types.js";
import { createAnthropicAdapter } from "./anthropic/adapter.js";
import { createAzureOpenAIAdapter } from "./azure-openai/adapter.js";
import { createOpenAIAdapter } from "./openai/adapter.js";
import { createHttpClient, type HttpClient } from "./shared/http.js";
import { createSimulatedAdapter, type SimulatedAdapterDeps } from "./simulated/adapter.js";
import type { ProviderAdapter } from "./types.js";

export interface AdapterDeps {
  /** Defaults to createHttpClient(). */
  http?: HttpClient;
  simulated?: SimulatedAdapterDeps;
}

export function createAdapters(deps: AdapterDeps = {}): Record<ProviderType, ProviderAdapter> {
  const http = deps.http ?? createHttpClient();
  return {
    openai: createOpenAIAdapter({ http }),
    "azure-openai": createAzureOpenAIAdapter({ http }),
    anthropic: createAnthropicAdapter({ http }),
    simulated: createSimulatedAdapter(deps.simulated ?? {}),
  };
}
