import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { validateClientKey, validateGateway, validateProvider, validateRoute } from "../api/v1alpha1/validate.js";
import type { ModelClientKey, ModelProvider, ModelRoute, SecretInfo } from "../api/v1alpha1/types.js";
import { parseRouterConfig } from "../../router/config/parse.js";
import { keyDigest, keyDigests, MIN_KEY_LENGTH } from "./client-keys.js";
import { compileGateway, gatewayView, keyParents, routeParents, type PolicyWorld } from "./gateway.js";

const ROOT = join(import.meta.dirname, "../..");
const SALT = "0123456789abcdef0123456789abcdef";
const VALUE = "sk-team-a-search-bot-0001";

function examples(): { providers: ModelProvider[]; routes: ModelRoute[] } {
  const providers: ModelProvider[] = [];
  const routes: ModelRoute[] = [];
  for (const f of ["providers.yaml", "routes.yaml"]) {
    for (const doc of parseAllDocuments(readFileSync(join(ROOT, "examples", f), "utf8"))) {
      const obj = doc.toJS() as { kind: string; metadata: { namespace?: string } };
      obj.metadata.namespace = "team-a";
      const r = obj.kind === "ModelRoute" ? validateRoute(obj) : validateProvider(obj);
      if (!r.ok) throw new Error(JSON.stringify(r.errors));
      if (r.object.kind === "ModelRoute") routes.push(r.object);
      else providers.push(r.object);
    }
  }
  return { providers, routes };
}

function clientKey(name: string, spec: Partial<ModelClientKey["spec"]> = {}, meta: object = {}): ModelClientKey {
  const r = validateClientKey({
    apiVersion: "routewise.dev/v1alpha1",
    kind: "ModelClientKey",
    metadata: { name, namespace: "team-a", labels: { team: "search" }, ...meta },
    spec: { secretRef: { name: `${name}-key` }, routes: ["*"], ...spec },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.object;
}

const gateway = (spec: object = {}) => {
  const r = validateGateway({
    apiVersion: "routewise.dev/v1alpha1",
    kind: "ModelGateway",
    metadata: { name: "gw", namespace: "team-a" },
    spec,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return gatewayView(r.object);
};

/** One gateway's compile of the examples plus `keys`, whose Secrets hold `values` (secret name → apiKey value). */
function compileKeys(
  keys: ModelClientKey[],
  values: Record<string, string>,
  o: { salt?: string; gatewaySpec?: object; routes?: ModelRoute[] } = {},
) {
  const { providers, routes } = examples();
  const secrets: SecretInfo[] = [
    { namespace: "team-a", name: "openai-credentials", keys: ["apiKey"] },
    ...Object.keys(values).map((name) => ({ namespace: "team-a", name, keys: ["apiKey"] })),
  ];
  const world: PolicyWorld = {
    providers,
    routes: o.routes ?? routes,
    clientKeys: keys,
    secrets,
    rejectedProviders: [],
    grants: [],
    namespaces: new Map(),
  };
  const gw = gateway(o.gatewaySpec);
  const parents = new Map([...routeParents(world.routes, [gw]), ...keyParents(keys, [gw])]);
  const salt = o.salt ?? SALT;
  const digests = keyDigests(salt, keys, (ns, name, key) =>
    ns === "team-a" && key === "apiKey" ? values[name] : undefined,
  );
  return compileGateway(gw, world, parents, null, { keys: { salt, digests } });
}

describe("client keys in the router config", () => {
  it("carry the salted sha256 of the key, the key's name, team, routes and budget, never the key", () => {
    const key = clientKey("search-bot", {
      routes: ["support-bot", "assistant"],
      budget: { usd: 50, period: "day" },
    });
    const { result } = compileKeys([key], { "search-bot-key": `${VALUE}\n` });
    expect(result.problems).toEqual([]);
    expect(result.config.clientKeys).toEqual({
      salt: SALT,
      keys: [
        {
          name: "team-a/search-bot",
          team: "search",
          sha256: keyDigest(SALT, VALUE),
          routes: ["assistant", "support-bot"],
          budget: { usd: 50, period: "day", onExhausted: "degrade", degradeAt: 0.8 },
        },
      ],
      teams: [],
    });
    expect(result.programmed).toContain("ModelClientKey/team-a/search-bot");
    expect(JSON.stringify(result.config)).not.toContain(VALUE);
  });

  it("make the config version v2, which the router's gate accepts", () => {
    const { result } = compileKeys([clientKey("bot")], { "bot-key": VALUE });
    expect(result.config.version).toBe("routewise.dev/router-config/v2");
    expect(parseRouterConfig(JSON.parse(JSON.stringify(result.config))).clientKeys?.keys).toHaveLength(1);
  });

  it("leave the config v1 and without clientKeys when the gateway has no ModelClientKey", () => {
    const { result } = compileKeys([], {});
    expect(result.config.version).toBe("routewise.dev/router-config/v1");
    expect(result.config).not.toHaveProperty("clientKeys");
  });

  it("give the same config hash for the same keys and salt, and another for another salt", () => {
    const a = compileKeys([clientKey("bot")], { "bot-key": VALUE }).result.config.hash;
    const b = compileKeys([clientKey("bot")], { "bot-key": VALUE }).result.config.hash;
    const c = compileKeys([clientKey("bot")], { "bot-key": VALUE }, { salt: "f".repeat(32) }).result.config.hash;
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });

  it("report SecretNotFound and leave the key out when its Secret is missing", () => {
    const { result } = compileKeys([clientKey("bot")], {});
    expect(result.problems).toEqual([
      expect.objectContaining({
        object: { kind: "ModelClientKey", namespace: "team-a", name: "bot" },
        condition: "ResolvedRefs",
        reason: "SecretNotFound",
        field: "spec.secretRef.name",
        message: "Secret team-a/bot-key not found",
      }),
    ]);
    // A gateway with keys, none usable, still requires a key: nothing opens up when a Secret goes away.
    expect(result.config.clientKeys?.keys).toEqual([]);
    expect(result.programmed).not.toContain("ModelClientKey/team-a/bot");
  });

  it("report SecretKeyNotFound when the Secret lacks the key", () => {
    const key = clientKey("bot", { secretRef: { name: "bot-key", key: "token" } });
    const { result } = compileKeys([key], { "bot-key": VALUE });
    expect(result.problems).toEqual([
      expect.objectContaining({ reason: "SecretKeyNotFound", message: 'Secret team-a/bot-key has no key "token"' }),
    ]);
  });

  it("refuse a key shorter than 16 characters without saying what it is", () => {
    const short = "x".repeat(MIN_KEY_LENGTH - 1);
    const { result } = compileKeys([clientKey("bot")], { "bot-key": short });
    expect(result.problems).toEqual([
      expect.objectContaining({
        reason: "KeyTooShort",
        message: 'Secret team-a/bot-key key "apiKey" is shorter than 16 characters',
      }),
    ]);
    expect(JSON.stringify(result.problems)).not.toContain(short);
  });

  it("program the first of two keys with one value (by namespace/name) and report the other Conflicted", () => {
    const { result } = compileKeys([clientKey("b"), clientKey("a")], { "a-key": VALUE, "b-key": VALUE });
    expect(result.config.clientKeys?.keys.map((k) => k.name)).toEqual(["team-a/a"]);
    expect(result.problems).toEqual([
      expect.objectContaining({ object: expect.objectContaining({ name: "b" }) as unknown, reason: "Conflicted" }),
    ]);
  });

  it("program a key listing a model no route serves, and report RouteNotFound", () => {
    const { result } = compileKeys([clientKey("bot", { routes: ["assistant", "ghost"] })], { "bot-key": VALUE });
    expect(result.config.clientKeys?.keys[0]?.routes).toEqual(["assistant", "ghost"]);
    expect(result.problems).toEqual([expect.objectContaining({ reason: "RouteNotFound", field: "spec.routes[1]" })]);
  });

  it("compile the gateway's team budgets with their defaults, sorted by team", () => {
    const gatewaySpec = {
      teamBudgets: [
        { team: "support", usd: 10, period: "week", onExhausted: "reject" },
        { team: "search", usd: 100, period: "month" },
      ],
    };
    const { result } = compileKeys([clientKey("bot")], { "bot-key": VALUE }, { gatewaySpec });
    expect(result.config.clientKeys?.teams).toEqual([
      { team: "search", budget: { usd: 100, period: "month", onExhausted: "degrade", degradeAt: 0.8 } },
      { team: "support", budget: { usd: 10, period: "week", onExhausted: "reject", degradeAt: 0.8 } },
    ]);
  });

  it("refuse a key from a namespace the gateway does not admit when the key names the gateway", () => {
    const key = clientKey("bot", { parentRefs: [{ name: "gw", namespace: "team-a" }] }, { namespace: "team-b" });
    const { result, refused, attached } = compileKeys([key], {});
    expect(attached.has("ModelClientKey/team-b/bot")).toBe(true);
    expect(refused).toEqual([
      expect.objectContaining({
        reason: "NotAllowedByParent",
        object: expect.objectContaining({ name: "bot" }) as unknown,
      }),
    ]);
    expect(result.config.clientKeys).toBeUndefined();
  });

  it("give a route's budget its defaults and make the config v2", () => {
    const { routes } = examples();
    routes[0]!.spec.budget = { usd: 20, period: "month", onExhausted: "reject" };
    const { result } = compileKeys([], {}, { routes });
    expect(result.config.version).toBe("routewise.dev/router-config/v2");
    expect(result.config.routes.find((r) => r.source.name === routes[0]!.metadata.name)?.budget).toEqual({
      usd: 20,
      period: "month",
      onExhausted: "reject",
      degradeAt: 0.8,
    });
  });
});
