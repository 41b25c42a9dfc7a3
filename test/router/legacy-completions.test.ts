/** The legacy Completions API (issue 16): client.completions through the chat pipeline, JSON and streaming. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIMock, type OpenAIMockHandle } from "../mocks/openai-mock.js";
import { mockProvider, route, routerConfig, startJsonRouter, type JsonRouter } from "./json-router.js";

let upstream: OpenAIMockHandle;
let t: JsonRouter;

beforeAll(async () => {
  upstream = await startOpenAIMock({ reply: (p) => `completed: ${p}` });
  const providers = [mockProvider("up", upstream.url, 80, [1, 2])];
  t = await startJsonRouter(routerConfig(providers, [route("legacy", ["default/up"], "default/up")]), {
    "default.up": "sk-l",
  });
});

afterAll(async () => {
  await t.stop();
  await upstream.close();
});

describe("POST /v1/completions", () => {
  it("answers a prompt in the text_completion shape, routed like chat, with the routing headers", async () => {
    const { data, response } = await t.client.completions
      .create({ model: "legacy", prompt: "Once upon a time", max_tokens: 20 })
      .withResponse();
    expect(data.object).toBe("text_completion");
    expect(data.choices[0]?.text).toBe("completed: Once upon a time");
    expect(data.usage?.completion_tokens).toBeGreaterThan(0);
    expect(response.headers.get("x-routewise-provider")).toBe("default/up");
    const sent = upstream.requests[upstream.requests.length - 1]?.body as { messages: unknown[]; max_tokens: number };
    expect(sent.messages).toEqual([{ role: "user", content: "Once upon a time" }]);
    expect(sent.max_tokens).toBe(20);
  });

  it("streams text_completion chunks whose text concatenates to the answer", async () => {
    const stream = await t.client.completions.create({ model: "legacy", prompt: "Tell me", stream: true });
    let text = "";
    for await (const chunk of stream) {
      expect(chunk.object).toBe("text_completion");
      text += chunk.choices[0]?.text ?? "";
    }
    expect(text).toBe("completed: Tell me");
  });

  it("refuses what chat completions cannot express with a 400 naming the parameter", async () => {
    for (const [extra, param] of [
      [{ echo: true }, "echo"],
      [{ suffix: "end" }, "suffix"],
      [{ best_of: 3 }, "best_of"],
      [{ prompt: ["a", "b"] }, "prompt"],
    ] as const) {
      const error = await t.client.completions
        .create({ model: "legacy", prompt: "x", ...extra } as Parameters<typeof t.client.completions.create>[0])
        .catch((e: unknown) => e);
      expect(error, param).toMatchObject({ status: 400, param });
    }
  });
});
