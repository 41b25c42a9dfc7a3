import { describe, expect, it } from "vitest";
import { perObject } from "./per-object.js";

describe("perObject", () => {
  it("computes once per object, and again for another object with the same content", () => {
    let calls = 0;
    const lengthOf = perObject((o: { name: string }) => {
      calls++;
      return o.name.length;
    });
    const a = { name: "route" };
    expect(lengthOf(a)).toBe(5);
    expect(lengthOf(a)).toBe(5);
    expect(calls).toBe(1);
    expect(lengthOf({ ...a })).toBe(5);
    expect(calls).toBe(2);
  });
});
