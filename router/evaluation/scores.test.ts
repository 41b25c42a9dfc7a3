import { describe, expect, it } from "vitest";
import { averageScores } from "./scores.js";

describe("averageScores", () => {
  it("averages each side over its two positions, cancelling a position bias", () => {
    // The judge adds +1 to whatever stands in position A: routed 6, baseline 8.
    const first = { scoreA: 7, scoreB: 8 }; // routed in A
    const second = { scoreA: 9, scoreB: 6 }; // baseline in A
    expect(averageScores(first, second)).toEqual({ routed: 6.5, baseline: 8.5 });
  });
});
