import { describe, expect, it } from "vitest";
import { compareStructurally, jsonEqual } from "./structural.js";

const call = (name: string, args: string) => ({ text: "", toolCalls: [{ name, arguments: args }] });

describe("compareStructurally", () => {
  it("finds identical tool calls equal when their arguments are equal as JSON", () => {
    expect(compareStructurally(call("lookup", '{"a":1,"b":2}'), call("lookup", '{"b": 2, "a": 1}'), false)).toBe(
      "equal",
    );
  });

  it("sends different tool calls to the judge", () => {
    expect(compareStructurally(call("lookup", '{"a":1}'), call("lookup", '{"a":2}'), false)).toBe("judge");
    expect(compareStructurally(call("lookup", "{}"), call("search", "{}"), false)).toBe("judge");
  });

  it("finds JSON-mode answers equal when their content parses to equal JSON", () => {
    const a = { text: '{"x": [1, 2], "y": null}', toolCalls: [] };
    const b = { text: '{"y":null,"x":[1,2]}', toolCalls: [] };
    expect(compareStructurally(a, b, true)).toBe("equal");
    expect(compareStructurally(a, b, false)).toBe("judge");
  });

  it("sends JSON-mode answers that differ or do not parse to the judge", () => {
    expect(compareStructurally({ text: '{"x":1}', toolCalls: [] }, { text: '{"x":2}', toolCalls: [] }, true)).toBe(
      "judge",
    );
    expect(compareStructurally({ text: "not json", toolCalls: [] }, { text: "not json", toolCalls: [] }, true)).toBe(
      "judge",
    );
  });

  it("sends a tool call against a text answer to the judge", () => {
    expect(compareStructurally(call("lookup", "{}"), { text: "hello", toolCalls: [] }, false)).toBe("judge");
  });
});

describe("jsonEqual", () => {
  it("tells arrays from objects and compares nested values", () => {
    expect(jsonEqual([1], { 0: 1 })).toBe(false);
    expect(jsonEqual({ a: { b: [1, "x"] } }, { a: { b: [1, "x"] } })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
  });
});
