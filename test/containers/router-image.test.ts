/**
 * The router image (localhost/routewise, from `npm run image`) run the way a Docker user runs it, through
 * testcontainers-node and Podman's Docker-compatible API (global-setup.ts): two containers in standalone mode on a
 * copy of examples/ bind-mounted at /policies, with the simulated providers. Both answer the official openai SDK
 * with the x-routewise-* headers, and a policy edited on the host reaches the running containers without a
 * restart.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../harness/wait.js";
import {
  client,
  listeningAddresses,
  startRouter,
  stopAll,
  useExamplesCopy,
  useSuitePodman,
  type RouterContainer,
} from "./routewise-containers.js";

useSuitePodman();
const policies = useExamplesCopy();

let routers: RouterContainer[] = [];

beforeAll(async () => {
  routers = await Promise.all(["router-a", "router-b"].map((name) => startRouter({ policies, name })));
});

afterAll(async () => {
  await stopAll(routers);
});

describe("router image (standalone, examples/ mounted)", () => {
  it("answers a chat completion with the x-routewise-* headers in each of two containers", async () => {
    for (const r of routers) {
      const { data, response } = await client(r)
        .chat.completions.create({ model: "assistant", messages: [{ role: "user", content: "What is 2 + 2?" }] })
        .withResponse();
      expect(response.status).toBe(200);
      expect(data.choices[0]?.message.content).toBeTruthy();
      expect(response.headers.get("x-routewise-route")).toBe("assistant");
      expect(response.headers.get("x-routewise-provider")).toMatch(/^default\//);
      expect(response.headers.get("x-routewise-model")).toBeTruthy();
      expect(response.headers.get("x-routewise-decision")).toBeTruthy();
      expect(Number(response.headers.get("x-routewise-cost-usd"))).toBeGreaterThan(0);
    }
  });

  it("listens on loopback only (API and metrics ports), never on the machine's external interface", () => {
    for (const r of routers) {
      for (const url of [r.url, r.metricsUrl])
        expect(listeningAddresses(Number(new URL(url).port))).toEqual(["127.0.0.1"]);
    }
  });

  it("serves a route added to the mounted policy without a restart", async () => {
    const routes = join(policies, "routes.yaml");
    const added = [
      "---",
      "apiVersion: routewise.dev/v1alpha1",
      "kind: ModelRoute",
      "metadata:",
      "  name: quick",
      "spec:",
      "  modelName: quick",
      "  candidates:",
      "    - name: llama-3-8b",
      "  baseline: { name: llama-3-8b }",
      "  objective: { minQualityRetention: 0.9 }",
      "",
    ].join("\n");
    writeFileSync(routes, `${readFileSync(routes, "utf8")}${added}`);
    for (const r of routers) {
      await waitFor(async () => (await client(r).models.list()).data.some((m) => m.id === "quick"), 60_000, {
        description: `${r.container.getName()} to list the added route`,
        intervalMs: 500,
      });
      const { response } = await client(r)
        .chat.completions.create({ model: "quick", messages: [{ role: "user", content: "Hello!" }] })
        .withResponse();
      expect(response.status).toBe(200);
      expect(response.headers.get("x-routewise-route")).toBe("quick");
      expect(response.headers.get("x-routewise-provider")).toBe("default/llama-3-8b");
    }
    // Still the same containers: nothing restarted them.
    for (const r of routers) expect(r.logs().match(/Routewise router listening/g)).toHaveLength(1);
  });
});
