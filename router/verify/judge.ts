/**
 * The cascade's `judge` verifier, FrugalGPT's scorer: a judge model grades one answer alone, 1–10, with a fixed
 * single-answer rubric (MT-Bench's), and the answer is accepted when the grade reaches the route's
 * `judgeThreshold`. This file is the pure half: the judge's messages and the parse of its grade; the call is the
 * cascade's (router/dispatch/cascade.ts).
 */
import type { ChatMessage } from "../openai/types.js";
import { renderConversation } from "../openai/conversation.js";

export const SINGLE_RUBRIC_VERSION = "routewise-single-v1";

export const SINGLE_JUDGE_SYSTEM_PROMPT = [
  `[${SINGLE_RUBRIC_VERSION}] You are an impartial judge of an AI assistant's answer.`,
  "You are shown a conversation between a user and an AI assistant, and the assistant's answer to its last turn.",
  "Grade the answer on a scale of 1 to 10, considering helpfulness, correctness, relevance, depth, and, where it",
  "matters, creativity and level of detail. Do not let the answer's length influence you.",
  "A score of 10 is an answer that cannot be improved; 1 is an answer that is wrong or useless.",
  'Output only a JSON object, exactly in this form and nothing else: {"score": <1-10>}',
].join("\n");

export function singleJudgeMessages(conversation: ChatMessage[], answer: string): ChatMessage[] {
  const user = [
    "[The Start of the Conversation]",
    renderConversation(conversation),
    "[The End of the Conversation]",
    "",
    "[The Start of the Assistant's Answer]",
    answer,
    "[The End of the Assistant's Answer]",
  ].join("\n");
  return [
    { role: "system", content: SINGLE_JUDGE_SYSTEM_PROMPT },
    { role: "user", content: user },
  ];
}

/** The grade in [1,10], or null when the verdict is not exactly `{"score": n}` (fenced JSON tolerated). */
export function parseGrade(text: string): number | null {
  const body = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/.exec(text)?.[1] ?? text.trim();
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return null;
  }
  const score = typeof value === "object" && value !== null ? (value as Record<string, unknown>)["score"] : null;
  return typeof score === "number" && Number.isFinite(score) && score >= 1 && score <= 10 ? score : null;
}
