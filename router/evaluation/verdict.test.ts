import { describe, expect, it } from "vitest";
import { parseVerdict } from "./verdict.js";

describe("parseVerdict", () => {
  it("reads the two scores of an exact verdict", () => {
    expect(parseVerdict('{"score_a": 7, "score_b": 9}')).toEqual({ scoreA: 7, scoreB: 9 });
  });

  it("tolerates whitespace and a json code fence", () => {
    expect(parseVerdict('\n```json\n{"score_a": 1, "score_b": 10}\n```\n')).toEqual({ scoreA: 1, scoreB: 10 });
  });

  it.each([
    ["prose", "Assistant A is better."],
    ["a score out of range", '{"score_a": 0, "score_b": 9}'],
    ["a score above 10", '{"score_a": 11, "score_b": 9}'],
    ["a string score", '{"score_a": "7", "score_b": 9}'],
    ["a missing score", '{"score_a": 7}'],
    ["an array", "[7, 9]"],
    ["JSON with prose around it", 'Verdict: {"score_a": 7, "score_b": 9}'],
  ])("returns null (a judge failure, never a score) for %s", (_what, text) => {
    expect(parseVerdict(text)).toBeNull();
  });
});
