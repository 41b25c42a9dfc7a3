import { describe, expect, it } from "vitest";
import { rng } from "./rng.js";
import type { LabelledPrompt } from "./synthetic.js";
import { fewShotRows } from "./synthetic.js";

const SOURCE: LabelledPrompt[] = [
  { prompt: "Which gas do plants absorb?\nA) Oxygen\nB) Carbon dioxide\nC) Nitrogen", task: "qa", domain: "science" },
  { prompt: "Who wrote Hamlet?", task: "qa", domain: "general" },
  { prompt: "A shop sells 3 apples for $2. How much do 12 apples cost?", task: "math", domain: "math" },
  { prompt: "Tom has 5 pens and buys 7 more. How many pens does he have?", task: "math", domain: "math" },
  { prompt: 'def add(a, b):\n    """Return the sum."""', task: "code", domain: "code" },
  { prompt: "x".repeat(800), task: "qa", domain: "general" },
];

describe("fewShotRows", () => {
  it("wraps a prompt in 2-5 answered exemplars of the same task and keeps the final prompt's label", () => {
    const rows = fewShotRows(SOURCE, 60, rng(1));
    expect(rows).toHaveLength(60);
    for (const r of rows) {
      const blocks = r.prompt.split("\n\n").filter((b) => b.includes("\nAnswer: "));
      expect(blocks.length).toBeGreaterThanOrEqual(2);
      expect(blocks.length).toBeLessThanOrEqual(5);
      expect(r.prompt.endsWith("\nAnswer:")).toBe(true);
      const last = SOURCE.find((s) => r.prompt.endsWith(`${s.prompt.trim()}\nAnswer:`));
      expect(last).toBeDefined();
      expect({ task: r.task, domain: r.domain }).toEqual({ task: last?.task, domain: last?.domain });
      expect(r.prompt).not.toContain("x".repeat(800)); // long passages are not wrapped
    }
    // Tasks are drawn uniformly, not in the source's proportions.
    const tasks = new Set(rows.map((r) => r.task));
    expect(tasks).toEqual(new Set(["qa", "math", "code"]));
  });

  it("answers multiple-choice exemplars with a letter and maths exemplars with a number", () => {
    const rows = fewShotRows(SOURCE.slice(0, 4), 40, rng(2));
    const answers = rows.flatMap((r) => [...r.prompt.matchAll(/\nAnswer: (.+)/g)].map((m) => m[1] ?? ""));
    expect(answers.some((a) => /^[A-D]$/.test(a))).toBe(true);
    expect(answers.some((a) => /^\d+$/.test(a))).toBe(true);
  });

  it("is reproducible for a seed", () => {
    expect(fewShotRows(SOURCE, 10, rng(3))).toEqual(fewShotRows(SOURCE, 10, rng(3)));
  });
});
