import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startOpenAIMock, type MockHandle } from "../../../test/mocks/openai-mock.js";
import { callOptions, providerConfig, TEST_API_KEY } from "../../../test/mocks/provider-config.js";
import type { ProviderConfig } from "../../config/types.js";
import { createHttpClient } from "../shared/http.js";
import type { ChatCompletionChunk, ChatRequest } from "../../openai/types.js";
import type { ProviderAdapter } from "../types.js";
import { UpstreamError } from "../types.js";
import { createAzureOpenAIAdapter } from "./adapter.js";
import { azureEndpoint, DEFAULT_AZURE_API_VERSION } from "./translate.js";

const REQUEST: ChatRequest = { model: "route-name", messages: [{ role: "user", content: "Say hello" }] };

let mock: MockHandle;
let adapter: ProviderAdapter;
let provider: ProviderConfig;

beforeAll(async () => {
  mock = await startOpenAIMock();
});
afterAll(async () => {
  await mock.close();
});
beforeEach(() => {
  mock.setFaults(null);
  mock.requests.length = 0;
  adapter = createAzureOpenAIAdapter({ http: createHttpClient() });
  provider = providerConfig({
    type: "azure-openai",
    baseURL: `${mock.url}/`,
    azure: { deployment: "gpt-4o prod", apiVersion: "2024-10-21" },
  });
});
afterEach(async () => {
  await adapter.close();
});

describe("azure-openai adapter", () => {
  it("posts to the deployment path with api-version and the api-key header when it completes", async () => {
    const { body } = await adapter.complete(provider, REQUEST, callOptions());
    expect(body.choices).toHaveLength(1);
    const sent = mock.requests[0]!;
    expect(sent.url).toBe("/openai/deployments/gpt-4o%20prod/chat/completions?api-version=2024-10-21");
    expect(sent.headers["api-key"]).toBe(TEST_API_KEY);
    expect(sent.headers["authorization"]).toBeUndefined();
  });

  it("streams with include_usage and ends with a usage chunk when the client streams", async () => {
    const result = await adapter.stream(provider, { ...REQUEST, stream: true }, callOptions());
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of result.chunks) chunks.push(chunk);
    expect(mock.requests[0]!.body).toMatchObject({ stream_options: { include_usage: true } });
    expect(chunks[chunks.length - 1]!.usage).toMatchObject({ prompt_tokens: expect.any(Number) as number });
  });

  it("maps a 429 with its retry-after when Azure throttles", async () => {
    mock.setFaults({ status: 429, retryAfter: "7" });
    const err: unknown = await adapter.complete(provider, REQUEST, callOptions()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ kind: "http", status: 429, retryAfterMs: 7000 });
    expect((err as Error).message).not.toContain(TEST_API_KEY);
  });

  it("falls back to the model as deployment and the default api-version when azure is null", () => {
    const endpoint = azureEndpoint(providerConfig({ baseURL: "https://x.openai.azure.com", model: "gpt-4o" }));
    expect(endpoint.origin).toBe("https://x.openai.azure.com");
    expect(endpoint.path).toBe(`/openai/deployments/gpt-4o/chat/completions?api-version=${DEFAULT_AZURE_API_VERSION}`);
  });
});
