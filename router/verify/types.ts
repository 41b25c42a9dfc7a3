/**
 * Answer verifiers: pure checks of one answer against the request it answers, used by cascades (a cheap stage's
 * answer is returned only when every verifier accepts it). None calls a model.
 */
import type { Task } from "../config/types.js";
import type { ChatRequest } from "../openai/types.js";

/** What a verifier sees of an answer (the first choice of a chat completion). */
export interface Answer {
  /** The message text; "" when the answer has only tool calls. */
  content: string;
  toolCalls: ToolCall[];
  /** stop, length, tool_calls, content_filter, … or null when the provider sent none. */
  finishReason: string | null;
  /** Per-token log-probabilities when the provider returned them, else null. */
  logprobs: number[] | null;
}

export interface ToolCall {
  name: string;
  /** The arguments as the model wrote them (a JSON text, maybe malformed). */
  arguments: string;
}

export interface VerifyInput {
  request: ChatRequest;
  answer: Answer;
  /** The analyzer's task for the request, when known (the math verifier insists on a final answer for math). */
  task?: Task;
}

/**
 * accept: the check passed; reject: the answer fails it (`reason` says why, bounded for metrics); abstain: the
 * check does not apply (no JSON asked, no arithmetic shown, no logprobs) and counts as accept.
 */
export type Verdict =
  | { verdict: "accept"; reason: string }
  | { verdict: "reject"; reason: string }
  | { verdict: "abstain"; reason: string };

export type Verifier = (input: VerifyInput) => Verdict;

export const accept = (reason: string): Verdict => ({ verdict: "accept", reason });
export const reject = (reason: string): Verdict => ({ verdict: "reject", reason });
export const abstain = (reason: string): Verdict => ({ verdict: "abstain", reason });
