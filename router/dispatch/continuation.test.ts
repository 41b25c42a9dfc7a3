import { describe, expect, it } from "vitest";
import type { ChatCompletionChunk } from "../openai/types.js";
import { MAX_OVERLAP, OverlapTrimmer, withPrefill } from "./continuation.js";
import { hasContent } from "./stream.js";

function trim(before: string, pieces: string[]): string {
  const t = new OverlapTrimmer(before);
  return pieces.map((p) => t.push(p)).join("") + t.flush();
}

describe("OverlapTrimmer", () => {
  it("removes what a continuation repeats of the partial answer when it arrives in pieces", () => {
    expect(trim("The capital of France is Pa", ["France is P", "aris."])).toBe("ris.");
  });

  it("removes the whitespace the client already has when the prefill had to drop it", () => {
    expect(trim("The capital is ", [" Paris."])).toBe("Paris.");
  });

  it("keeps a short coincidental overlap that is not whitespace", () => {
    expect(trim("ha ha", ["ha!"])).toBe("ha!");
  });

  it("keeps everything when the continuation does not repeat the partial answer", () => {
    expect(trim("Hello", [" wor", "ld"])).toBe(" world");
  });

  it("holds back no more than the overlap it looks for", () => {
    const t = new OverlapTrimmer("x".repeat(1000));
    expect(t.push("y".repeat(MAX_OVERLAP))).toBe("y".repeat(MAX_OVERLAP));
  });
});

describe("withPrefill", () => {
  it("appends the partial answer as an assistant message, and nothing when it is empty", () => {
    const messages = [{ role: "user", content: "hi" }];
    expect(withPrefill(messages, "Hel")).toEqual([...messages, { role: "assistant", content: "Hel" }]);
    expect(withPrefill(messages, "")).toBe(messages);
  });
});

describe("hasContent", () => {
  const chunk = (choice: Record<string, unknown>): ChatCompletionChunk => ({
    id: "c",
    object: "chat.completion.chunk",
    model: "m",
    choices: [{ index: 0, ...choice }],
  });

  it("is false for a role chunk and true for text, tool calls or a finish reason", () => {
    expect(hasContent(chunk({ delta: { role: "assistant", content: "" }, finish_reason: null }))).toBe(false);
    expect(hasContent(chunk({ delta: { content: "Hi" } }))).toBe(true);
    expect(hasContent(chunk({ delta: { tool_calls: [{ index: 0 }] } }))).toBe(true);
    expect(hasContent(chunk({ delta: {}, finish_reason: "stop" }))).toBe(true);
  });
});
