import { describe, expect, it } from "vitest";
import { ANSWER_A_START, ANSWER_B_START, JUDGE_SYSTEM_PROMPT, judgeMessages, renderConversation } from "./rubric.js";

describe("rubric", () => {
  it("asks for exactly the JSON verdict with both scores from 1 to 10", () => {
    expect(JUDGE_SYSTEM_PROMPT).toContain('{"score_a": <1-10>, "score_b": <1-10>}');
  });

  it("shows the conversation and the answers in positions A and B", () => {
    const [system, user] = judgeMessages("user: hi", "first", "second");
    expect(system?.content).toBe(JUDGE_SYSTEM_PROMPT);
    const text = String(user?.content);
    expect(text.indexOf(ANSWER_A_START)).toBeLessThan(text.indexOf("first"));
    expect(text.indexOf(ANSWER_B_START)).toBeLessThan(text.indexOf("second"));
    expect(text.indexOf("first")).toBeLessThan(text.indexOf(ANSWER_B_START));
  });

  it("renders text parts and marks images", () => {
    const text = renderConversation([
      { role: "system", content: "be brief" },
      {
        role: "user",
        content: [
          { type: "text", text: "what is" },
          { type: "image_url", image_url: { url: "x" } },
        ],
      },
    ]);
    expect(text).toBe("system: be brief\n\nuser: what is [image]");
  });
});
