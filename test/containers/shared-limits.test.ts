/**
 * Limits shared through Redis (issue 17), with containers only: Redis from localhost/redis:7 and two router
 * containers started with `--redis-url`, on examples/ plus a provider limited to a few requests a minute. Requests to
 * the first container use the whole limit up; the second then refuses with 429 rate_limited, because the window
 * is one, in Redis, not one per container.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addPolicy,
  client,
  listeningAddresses,
  routeYaml,
  simulatedProviderYaml,
  startRedisContainer,
  startRouter,
  stopAll,
  useExamplesCopy,
  useSuitePodman,
  type RedisContainer,
  type RouterContainer,
} from "./routewise-containers.js";

useSuitePodman();
const policies = useExamplesCopy();

const LIMIT = 5;
let redis: RedisContainer | undefined;
let routers: RouterContainer[] = [];

beforeAll(async () => {
  addPolicy(
    policies,
    "limited.yaml",
    simulatedProviderYaml("limited", [`limits: { requestsPerMinute: ${LIMIT} }`]),
    routeYaml("limited", ["limited"]),
  );
  redis = await startRedisContainer();
  // closed: were Redis unreachable, a router would answer 503 rather than quietly count on its own.
  const args = [
    "--redis-url",
    redis.url,
    "--state-key-prefix",
    "routewise:containers",
    "--state-failure-policy",
    "closed",
  ];
  routers = await Promise.all(["limits-a", "limits-b"].map((name) => startRouter({ policies, name, args })));
});

afterAll(async () => {
  await stopAll(routers);
  await stopAll([redis], 10_000);
});

interface Answer {
  status: number;
  provider: string | null;
  code: string | undefined;
}

async function chat(r: RouterContainer): Promise<Answer> {
  const messages = [{ role: "user" as const, content: "Hello there!" }];
  try {
    const { response } = await client(r).chat.completions.create({ model: "limited", messages }).withResponse();
    return { status: response.status, provider: response.headers.get("x-routewise-provider"), code: undefined };
  } catch (err) {
    if (!(err instanceof OpenAI.APIError)) throw err;
    const status: unknown = err.status;
    const code: unknown = err.code;
    return { status: Number(status), provider: null, code: typeof code === "string" ? code : undefined };
  }
}

describe("two router containers sharing Redis", () => {
  it("refuses in the second container with 429 once the first used the shared limit up", async () => {
    const [a, b] = routers as [RouterContainer, RouterContainer];
    for (const r of routers) expect(r.logs()).toContain("Using Redis for provider limits and budgets across replicas");
    expect(listeningAddresses(Number(new URL(redis!.url).port))).toEqual(["127.0.0.1"]);
    const first: Answer[] = [];
    for (let i = 0; i < LIMIT; i++) first.push(await chat(a));
    expect(first.map((x) => x.status)).toEqual(Array.from({ length: LIMIT }, () => 200));
    expect(first.every((x) => x.provider === "default/limited")).toBe(true);
    // The second container has served nothing, yet the minute's window is full.
    const second = await chat(b);
    expect(second.status).toBe(429);
    expect(second.code).toBe("rate_limited");
    expect((await chat(a)).status).toBe(429);
  });
});
