/**
 * The judge's fixed rubric (ADR 10): pairwise, MT-Bench single-answer style. The judge sees the conversation and
 * two answers, grades each 1–10 for helpfulness, correctness, relevance and depth, and outputs exactly
 * `{"score_a": n, "score_b": n}`. It is asked twice with the answers in swapped positions (scores.ts averages).
 * Changing this text changes every measured retention: keep it versioned (RUBRIC_VERSION) and documented.
 */
import type { ChatMessage } from "../openai/types.js";

export { renderConversation } from "../openai/conversation.js";

export const RUBRIC_VERSION = "routewise-pairwise-v1";

/** The judge's system prompt. Its first line marks a rubric request (the test mock recognises it). */
export const JUDGE_SYSTEM_PROMPT = [
  `[${RUBRIC_VERSION}] You are an impartial judge of AI assistant answers.`,
  "You are shown a conversation between a user and an AI assistant, and two candidate answers to its last turn,",
  "labelled Assistant A and Assistant B. Grade each answer on its own merits on a scale of 1 to 10, considering",
  "helpfulness, correctness, relevance, depth, and, where it matters, creativity and level of detail.",
  "Do not let the order in which the answers are shown, their length, or the assistants' names influence you.",
  "A score of 10 is an answer that cannot be improved; 1 is an answer that is wrong or useless.",
  'Output only a JSON object, exactly in this form and nothing else: {"score_a": <1-10>, "score_b": <1-10>}',
].join("\n");

export const ANSWER_A_START = "[The Start of Assistant A's Answer]";
export const ANSWER_A_END = "[The End of Assistant A's Answer]";
export const ANSWER_B_START = "[The Start of Assistant B's Answer]";
export const ANSWER_B_END = "[The End of Assistant B's Answer]";
export const CONVERSATION_START = "[The Start of the Conversation]";
export const CONVERSATION_END = "[The End of the Conversation]";

/** The messages of one judge call: the rubric, then the conversation and the two answers in positions A and B. */
export function judgeMessages(conversation: string, answerA: string, answerB: string): ChatMessage[] {
  const user = [
    CONVERSATION_START,
    conversation,
    CONVERSATION_END,
    "",
    ANSWER_A_START,
    answerA,
    ANSWER_A_END,
    "",
    ANSWER_B_START,
    answerB,
    ANSWER_B_END,
  ].join("\n");
  return [
    { role: "system", content: JUDGE_SYSTEM_PROMPT },
    { role: "user", content: user },
  ];
}
