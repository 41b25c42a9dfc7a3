/** The default body limit (issue 16): a request with a normal base64 photo is accepted, a huge one refused. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOpenAIMock, type OpenAIMockHandle } from "../mocks/openai-mock.js";
import { mockProvider, route, routerConfig, startJsonRouter, type JsonRouter } from "./json-router.js";

let upstream: OpenAIMockHandle;
let t: JsonRouter;

beforeAll(async () => {
  upstream = await startOpenAIMock();
  const providers = [mockProvider("vision", upstream.url, 80, [1, 2])];
  t = await startJsonRouter(routerConfig(providers, [route("photo", ["default/vision"], "default/vision")]), {
    "default.vision": "sk-v",
  });
});

afterAll(async () => {
  await t.stop();
  await upstream.close();
});

function withImage(bytes: number) {
  const url = `data:image/jpeg;base64,${Buffer.alloc(bytes, 7).toString("base64")}`;
  return [
    {
      role: "user" as const,
      content: [
        { type: "text" as const, text: "What is in this photo?" },
        { type: "image_url" as const, image_url: { url } },
      ],
    },
  ];
}

describe("request body limit", () => {
  it("accepts a request carrying a 6 MB photo (8 MiB as base64) with the default limit", async () => {
    const r = await t.client.chat.completions.create({ model: "photo", messages: withImage(6_000_000) });
    expect(r.choices).toHaveLength(1);
  });

  it("refuses a body over the default 20 MiB with 413 request_too_large", async () => {
    const error = await t.client.chat.completions
      .create({ model: "photo", messages: withImage(16_000_000) })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 413, code: "request_too_large" });
  });
});
