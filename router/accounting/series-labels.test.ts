import { describe, expect, it } from "vitest";
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import { pairLabels, providerLabels, requestLabels, routeLabels } from "./series-labels.js";

const provider = { id: "cheap", type: "azure-openai", model: "m" } as ProviderConfig;
const route = { name: "assistant" } as RouteConfig;

describe("series labels", () => {
  it("hands out one object per label set, with the labels the metrics declare", () => {
    const pair = pairLabels(route, provider);
    expect(pair.direction.get("input")).toEqual({
      route: "assistant",
      provider: "cheap",
      model: "m",
      direction: "input",
    });
    expect(pair.direction.get("input")).toBe(pairLabels(route, provider).direction.get("input"));
    expect(pair.arm.get("baseline")).toEqual({ route: "assistant", provider: "cheap", model: "m", arm: "baseline" });
    expect(routeLabels(route).arm.get("policy")).toEqual({ route: "assistant", arm: "policy" });
    expect(routeLabels(route).route).toBe(routeLabels(route).route);
    const p = providerLabels(provider);
    expect(p.outcome.get("timeout")).toEqual({ provider: "cheap", model: "m", outcome: "timeout" });
    expect(p.genAiOutcome.get("success")).toMatchObject({ gen_ai_provider_name: "azure.ai.openai", error_type: "" });
    expect(p.genAiOutcome.get("http_500").error_type).toBe("http_500");
    expect(p.genAiTokens.get("output")).toMatchObject({ gen_ai_request_model: "m", gen_ai_token_type: "output" });
  });

  it("splits a request's outcome and arm, common or not", () => {
    const pair = pairLabels(route, provider);
    expect(requestLabels(pair, "success", "policy")).toMatchObject({ outcome: "success", arm: "policy" });
    expect(requestLabels(pair, "success", "policy")).toBe(requestLabels(pair, "success", "policy"));
    expect(requestLabels(pair, "upstream_timeout", "baseline")).toMatchObject({
      outcome: "upstream_timeout",
      arm: "baseline",
    });
  });

  it("starts over for a reloaded config's objects", () => {
    const reloaded = { ...route, name: "renamed" };
    expect(routeLabels(reloaded).route).toEqual({ route: "renamed" });
    expect(pairLabels(reloaded, { ...provider }).direction.get("output")).not.toBe(
      pairLabels(route, provider).direction.get("output"),
    );
  });
});
