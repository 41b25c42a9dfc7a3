import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { contentHash } from "./hash.js";
import { ConfigError, parseRouterConfig } from "./parse.js";
import { ROUTER_CONFIG_VERSION_V2 } from "./types.js";

/** The operator's compiler output for examples/ (golden-tested in operator/compile/compile.test.ts). */
const GOLDEN = join(import.meta.dirname, "../../operator/compile/testdata/examples.golden.json");

type Json = Record<string, unknown> & {
  providers: Record<string, unknown>[];
  routes: (Record<string, unknown> & { rules: Record<string, unknown>[] })[];
};

function golden(): Json {
  return JSON.parse(readFileSync(GOLDEN, "utf8")) as Json;
}

/** The golden config after `edit`, with its hash recomputed so only the edit can be refused. */
function edited(edit: (config: Json) => void): Json {
  const config = golden();
  edit(config);
  const { hash: _, ...body } = config;
  return { ...config, hash: contentHash(body) };
}

const BUDGET = { usd: 5, period: "day", onExhausted: "reject", degradeAt: 0.8 };
const CLIENT_KEYS = {
  salt: "00112233445566778899aabbccddeeff",
  keys: [{ name: "team-a/bot", team: "search", sha256: "a".repeat(64), routes: ["*"], budget: BUDGET }],
  teams: [{ team: "search", budget: BUDGET }],
};

function refusal(value: unknown): string {
  try {
    parseRouterConfig(value);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error("the config was accepted");
}

describe("the config gate (parseRouterConfig)", () => {
  it("accepts the config the operator compiles from examples/", () => {
    const config = parseRouterConfig(golden());
    expect(config.routes.map((r) => r.name)).toEqual(["assistant", "summarizer", "support-bot"]);
    expect(config).toEqual(golden());
  });

  it("accepts fields it does not know when the version is its own (additive changes keep the version)", () => {
    const config = edited((c) => {
      c["comment"] = "from a newer operator";
    });
    expect(parseRouterConfig(config).hash).toBe(config["hash"]);
  });

  it("refuses a value that is not a JSON object", () => {
    expect(refusal([])).toBe("config must be a JSON object");
  });

  it("refuses another version, naming it and its own", () => {
    const message = refusal(edited((c) => (c["version"] = "routewise.dev/router-config/v3")));
    expect(message).toBe(
      `config version "routewise.dev/router-config/v3" is not supported (this router reads routewise.dev/router-config/v1, routewise.dev/router-config/v2)`,
    );
  });

  it("accepts client keys and a route budget in a v2 config", () => {
    const config = edited((c) => {
      c["version"] = ROUTER_CONFIG_VERSION_V2;
      c["clientKeys"] = CLIENT_KEYS;
      c.routes[0]!["budget"] = BUDGET;
    });
    expect(parseRouterConfig(config).clientKeys).toEqual(CLIENT_KEYS);
  });

  it("refuses client keys in a v1 config (a v1 router would serve the gateway without authentication)", () => {
    expect(refusal(edited((c) => (c["clientKeys"] = CLIENT_KEYS)))).toBe(
      "config field clientKeys: needs config version routewise.dev/router-config/v2 (a v1 router would ignore it)",
    );
  });

  it("refuses a route budget in a v1 config", () => {
    expect(refusal(edited((c) => (c.routes[2]!["budget"] = BUDGET)))).toBe(
      "config field routes[2].budget: needs config version routewise.dev/router-config/v2 (a v1 router would ignore it)",
    );
  });

  it("refuses a v2 config without client keys or budgets (it would shut v1 routers out for nothing)", () => {
    expect(refusal(edited((c) => (c["version"] = ROUTER_CONFIG_VERSION_V2)))).toBe(
      "config version routewise.dev/router-config/v2 is for client keys or budgets; this config has none (use routewise.dev/router-config/v1)",
    );
  });

  it("refuses two client keys of one name", () => {
    const twice = { ...CLIENT_KEYS, keys: [CLIENT_KEYS.keys[0], { ...CLIENT_KEYS.keys[0], sha256: "b".repeat(64) }] };
    const message = refusal(
      edited((c) => {
        c["version"] = ROUTER_CONFIG_VERSION_V2;
        c["clientKeys"] = twice;
      }),
    );
    expect(message).toBe("config field clientKeys.keys[1].name: duplicate client key team-a/bot");
  });

  it("refuses a client key whose sha256 is not 64 lowercase hex characters", () => {
    const bad = { ...CLIENT_KEYS, keys: [{ ...CLIENT_KEYS.keys[0], sha256: "ABC" }] };
    const message = refusal(
      edited((c) => {
        c["version"] = ROUTER_CONFIG_VERSION_V2;
        c["clientKeys"] = bad;
      }),
    );
    expect(message).toContain("config field clientKeys.keys[0].sha256");
  });

  it("refuses a config whose hash does not match its content", () => {
    const config = golden();
    config.routes[0]!["rollout"] = "shadow";
    expect(refusal(config)).toBe(
      `config hash ${JSON.stringify(config["hash"])} does not match its content (truncated or edited by hand?)`,
    );
  });

  it("refuses a config without a hash", () => {
    const config = golden();
    delete config["hash"];
    expect(refusal(config)).toBe("config field hash: is required");
  });

  it("refuses a route missing a required field, naming it", () => {
    expect(refusal(edited((c) => delete c.routes[1]!["retry"]))).toBe("config field routes[1].retry: is required");
  });

  it("refuses a provider missing a nested required field, naming it", () => {
    const config = edited((c) => delete (c.providers[0]!["pricing"] as Record<string, unknown>)["outputPerMillion"]);
    expect(refusal(config)).toBe("config field providers[0].pricing.outputPerMillion: is required");
  });

  it("refuses a custom classifier without a model path", () => {
    const config = edited((c) => (c.routes[0]!["classifier"] = { type: "custom" }));
    expect(refusal(config)).toBe("config field routes[0].classifier.modelPath: is required");
  });

  it("refuses a field of the wrong type, naming it", () => {
    const config = edited((c) => (c.providers[2]!["contextWindow"] = "8192"));
    expect(refusal(config)).toBe("config field providers[2].contextWindow: must be number");
  });

  it("refuses an unknown provider type", () => {
    expect(refusal(edited((c) => (c.providers[0]!["type"] = "cohere")))).toBe(
      'config field providers[0].type: must be one of "openai", "azure-openai", "anthropic", "simulated"',
    );
  });

  it("refuses a negative price", () => {
    const config = edited((c) => ((c.providers[1]!["pricing"] as Record<string, unknown>)["inputPerMillion"] = -1));
    expect(refusal(config)).toBe("config field providers[1].pricing.inputPerMillion: must be >= 0");
  });

  it("refuses a quality retention outside (0,1]", () => {
    const config = edited((c) => ((c.routes[0]!["objective"] as Record<string, unknown>)["minQualityRetention"] = 0));
    expect(refusal(config)).toBe("config field routes[0].objective.minQualityRetention: must be > 0");
  });

  it("refuses a candidate naming a provider the config does not have", () => {
    const config = edited((c) => {
      (c.routes[2]!["candidates"] as Record<string, unknown>[])[1]!["provider"] = "team-a/ghost";
    });
    expect(refusal(config)).toBe(
      "config field routes[2].candidates[1].provider: unknown provider team-a/ghost (route support-bot)",
    );
  });

  it("refuses a baseline naming a provider the config does not have", () => {
    const config = edited((c) => (c.routes[1]!["baseline"] = "team-b/gpt-4o"));
    expect(refusal(config)).toBe("config field routes[1].baseline: unknown provider team-b/gpt-4o (route summarizer)");
  });

  it("refuses a rule pinning a provider the config does not have", () => {
    const config = edited((c) => (c.routes[0]!.rules[1]!["pin"] = ["team-a/gpt-4o", "team-a/ghost"]));
    expect(refusal(config)).toBe(
      "config field routes[0].rules[1].pin[1]: unknown provider team-a/ghost (route assistant)",
    );
  });

  it("refuses a rule excluding a provider the config does not have", () => {
    const config = edited((c) => (c.routes[0]!.rules[0]!["exclude"] = ["team-a/ghost"]));
    expect(refusal(config)).toBe(
      "config field routes[0].rules[0].exclude[0]: unknown provider team-a/ghost (route assistant)",
    );
  });

  it("refuses two routes with one name", () => {
    const config = edited((c) => (c.routes[1]!["name"] = "assistant"));
    expect(refusal(config)).toBe("config field routes[1].name: duplicate route name assistant");
  });

  it("refuses two providers with one id", () => {
    const config = edited((c) => (c.providers[1]!["id"] = c.providers[0]!["id"]));
    expect(refusal(config)).toBe("config field providers[1].id: duplicate provider id team-a/claude-3-5-sonnet");
  });

  it("refuses an upstream provider whose baseURL is not http(s)", () => {
    const config = edited((c) => {
      c.providers[0]!["type"] = "openai";
      c.providers[0]!["baseURL"] = "ftp://api.openai.com/v1";
    });
    const id = String(config.providers[0]?.["id"]);
    expect(refusal(config)).toBe(`config field providers[0].baseURL: must be an http(s) URL (provider ${id})`);
  });
});
