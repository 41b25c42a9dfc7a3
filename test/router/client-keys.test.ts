/**
 * Client keys as resources (issue 17), standalone: the README's ModelClientKey example (docs/examples/client-keys.yaml)
 * in a router's policy YAML authenticates requests as in a cluster — the Secret's value is the key, the config holds
 * only its salted hash — next to an --api-keys file, and the access log names the key and its team, never the key.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureLogs, routeYaml, startTestRouter, type TestRouter } from "./harness.js";

const EXAMPLE = readFileSync(join(import.meta.dirname, "../../docs/examples/client-keys.yaml"), "utf8");
const KEY = "rw-search-bot-4f1c9a7e2b";
const FILE_KEY = "rw-ops-FILE-KEY-0000000001";
const ROTATED = "rw-search-bot-ROTATED-77aa";
// A second route the key does not list.
const OTHER = routeYaml("other", "  baseline: { name: small }\n  candidates: [{ name: small }]");

let t: TestRouter;
const logs = captureLogs();

beforeAll(async () => {
  t = await startTestRouter({
    yaml: `${EXAMPLE}---\n${OTHER}`,
    apiKeys: { keys: [{ name: "ops", key: FILE_KEY, routes: ["*"], team: "platform" }] },
    logger: logs.logger,
  });
});

afterAll(async () => {
  await t.stop();
});

async function chat(model: string, key: string | null, requestId: string) {
  return fetch(`${t.url}/v1/chat/completions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-request-id": requestId,
      ...(key === null ? {} : { authorization: `Bearer ${key}` }),
    },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
  });
}

function lineOf(requestId: string): Record<string, unknown> | undefined {
  return logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l["requestId"] === requestId);
}

async function errorCode(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code;
}

describe("client keys from ModelClientKey YAML (standalone)", () => {
  it("serves a request carrying the key and logs the key's name and team, not the key", async () => {
    const res = await chat("assistant", KEY, "ck-ok");
    expect(res.status).toBe(200);
    await res.text();
    expect(lineOf("ck-ok")).toMatchObject({ clientKey: "default/search-bot", team: "search", status: 200 });
  });

  it("answers 401 missing_api_key without a key and invalid_api_key with a wrong one", async () => {
    const missing = await chat("assistant", null, "ck-missing");
    expect(missing.status).toBe(401);
    expect(await errorCode(missing)).toBe("missing_api_key");
    const wrong = await chat("assistant", `${KEY}x`, "ck-wrong");
    expect(wrong.status).toBe(401);
    expect(await errorCode(wrong)).toBe("invalid_api_key");
  });

  it("answers 403 model_not_allowed for a route the key does not list, and lists only its routes", async () => {
    const res = await chat("other", KEY, "ck-403");
    expect(res.status).toBe(403);
    expect(await errorCode(res)).toBe("model_not_allowed");
    const models = await fetch(`${t.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } });
    const ids = ((await models.json()) as { data: { id: string }[] }).data.map((m) => m.id);
    expect(ids).toEqual(["assistant"]);
  });

  it("keeps accepting the --api-keys file's keys beside the ModelClientKeys", async () => {
    const res = await chat("other", FILE_KEY, "ck-file");
    expect(res.status).toBe(200);
    await res.text();
    expect(lineOf("ck-file")).toMatchObject({ clientKey: "ops", team: "platform" });
  });

  it("never has the key in the config, the logs or the metrics", async () => {
    const config = JSON.stringify(t.router.state.current?.config);
    expect(config).toContain("default/search-bot");
    expect(config).not.toContain(KEY);
    expect(logs.lines.join("\n")).not.toContain(KEY);
    expect(logs.lines.join("\n")).not.toContain(FILE_KEY);
    const metrics = await (await fetch(`${t.metricsUrl}/metrics`)).text();
    expect(metrics).not.toContain(KEY);
  });

  it("takes a new key value on reload: the old one stops working, the new one works", async () => {
    await t.rewrite(`${EXAMPLE.replace(`apiKey: ${KEY}`, `apiKey: ${ROTATED}`)}---\n${OTHER}`);
    expect((await chat("assistant", KEY, "ck-old")).status).toBe(401);
    const res = await chat("assistant", ROTATED, "ck-new");
    expect(res.status).toBe(200);
    await res.text();
  });
});
