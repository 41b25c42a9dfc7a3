import type { Domain, Task } from "../config/types.js";

/** What the analyzer says about one request. */
export interface Classification {
  task: Task;
  domain: Domain;
  /** In [0,1]: higher means the prompt more likely needs a stronger model. */
  difficulty: number;
  /** In [0,1]: how sure the classifier is of `difficulty`; low confidence makes selection prefer stronger models. */
  confidence: number;
  /** Which classifier produced this ("heuristic", "builtin-onnx", "custom", ...). */
  source: string;
}

/** Input the classifier sees: the conversation as plain text parts. */
export interface ClassifyInput {
  /** The last user message (what the request asks now). */
  prompt: string;
  /** System prompt, if any. */
  system: string;
  /** Total characters in all messages (for context-length signals). */
  totalChars: number;
}

export interface Classifier {
  readonly name: string;
  classify(input: ClassifyInput): Promise<Classification> | Classification;
}
