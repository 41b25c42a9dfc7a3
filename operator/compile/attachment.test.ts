import { describe, expect, it } from "vitest";
import {
  admission,
  admitsNamespace,
  matchesSelector,
  parentRefsOf,
  referencePermitted,
  type GatewayView,
  type NamespaceLabels,
} from "./attachment.js";

const gateway = (over: Partial<GatewayView> = {}): GatewayView => ({
  namespace: "platform",
  name: "gw",
  controllerName: "routewise.dev/operator",
  allowedRoutes: { from: "Same" },
  modelNames: [],
  ...over,
});

const labels: NamespaceLabels = new Map([
  ["team-a", { team: "a", tier: "prod" }],
  ["team-b", { team: "b" }],
]);

describe("parentRefsOf", () => {
  it("uses the route's parentRefs, defaulting their namespace to the route's", () => {
    expect(
      parentRefsOf({ namespace: "team-a", parentRefs: [{ name: "gw" }, { name: "x", namespace: "p" }] }, []),
    ).toEqual([
      { namespace: "team-a", name: "gw" },
      { namespace: "p", name: "x" },
    ]);
  });

  it("attaches to the one gateway in the install namespace when the route names none", () => {
    expect(parentRefsOf({ namespace: "team-a" }, [gateway()])).toEqual([{ namespace: "platform", name: "gw" }]);
  });

  it("attaches nowhere when the install namespace has several gateways and the route names none", () => {
    expect(parentRefsOf({ namespace: "team-a" }, [gateway(), gateway({ name: "other" })])).toEqual([]);
  });
});

describe("admitsNamespace", () => {
  it("admits only the gateway's namespace when from is Same", () => {
    expect(admitsNamespace({ from: "Same" }, "platform", "platform", labels)).toBe(true);
    expect(admitsNamespace({ from: "Same" }, "platform", "team-a", labels)).toBe(false);
  });

  it("admits namespaces whose labels match when from is Selector", () => {
    const policy = { from: "Selector" as const, selector: { matchLabels: { tier: "prod" } } };
    expect(admitsNamespace(policy, "platform", "team-a", labels)).toBe(true);
    expect(admitsNamespace(policy, "platform", "team-b", labels)).toBe(false);
  });
});

describe("matchesSelector", () => {
  it("evaluates In, NotIn, Exists and DoesNotExist", () => {
    const l = { team: "a" };
    expect(matchesSelector({ matchExpressions: [{ key: "team", operator: "In", values: ["a", "b"] }] }, l)).toBe(true);
    expect(matchesSelector({ matchExpressions: [{ key: "team", operator: "NotIn", values: ["a"] }] }, l)).toBe(false);
    expect(matchesSelector({ matchExpressions: [{ key: "team", operator: "Exists" }] }, l)).toBe(true);
    expect(matchesSelector({ matchExpressions: [{ key: "tier", operator: "DoesNotExist" }] }, l)).toBe(true);
  });
});

describe("admission", () => {
  it("refuses a route from a namespace the gateway does not allow", () => {
    expect(admission(gateway(), { namespace: "team-a", modelName: "assistant" }, labels)).toMatch(
      /does not allow routes from namespace team-a/,
    );
  });

  it("refuses a claim on a reserved model name from another namespace", () => {
    const gw = gateway({
      allowedRoutes: { from: "All" },
      modelNames: [{ names: ["assistant", "platform-*"], namespaces: { from: "Same" } }],
    });
    expect(admission(gw, { namespace: "team-a", modelName: "assistant" }, labels)).toMatch(/reserves modelName/);
    expect(admission(gw, { namespace: "team-a", modelName: "platform-x" }, labels)).toMatch(/reserves modelName/);
    expect(admission(gw, { namespace: "platform", modelName: "assistant" }, labels)).toBeNull();
  });

  it("leaves names no claim covers open to every allowed namespace", () => {
    const gw = gateway({
      allowedRoutes: { from: "All" },
      modelNames: [{ names: ["assistant"], namespaces: { from: "Same" } }],
    });
    expect(admission(gw, { namespace: "team-b", modelName: "team-b-bot" }, labels)).toBeNull();
  });
});

describe("referencePermitted", () => {
  const grants = [{ namespace: "platform", fromNamespaces: ["team-a"], toNames: ["gpt-4o"] }];

  it("permits a same-namespace reference without a grant", () => {
    expect(referencePermitted([], "team-a", "team-a", "x")).toBe(true);
  });

  it("permits a cross-namespace reference only to the granted provider and from the granted namespace", () => {
    expect(referencePermitted(grants, "team-a", "platform", "gpt-4o")).toBe(true);
    expect(referencePermitted(grants, "team-a", "platform", "claude")).toBe(false);
    expect(referencePermitted(grants, "team-b", "platform", "gpt-4o")).toBe(false);
  });

  it("permits every provider of the namespace when the grant names none", () => {
    expect(
      referencePermitted(
        [{ namespace: "platform", fromNamespaces: ["team-b"], toNames: null }],
        "team-b",
        "platform",
        "any",
      ),
    ).toBe(true);
  });
});
