/**
 * A transparent keyword-and-length classifier. It is the fallback when no ONNX model is available (and the
 * baseline the trained model must beat); it implements the same Classifier interface.
 */
import type { Domain, Task } from "../config/types.js";
import type { Classification, Classifier, ClassifyInput } from "./types.js";

const TASK_PATTERNS: [Task, RegExp][] = [
  [
    "code",
    /```|\b(function|class|def|return|import|compile|bug|stack ?trace|regex|sql|python|javascript|typescript|java|rust|golang|c\+\+|api)\b/i,
  ],
  ["math", /\b(solve|equation|integral|derivative|prove|probability|theorem|matrix|calculate|compute)\b|[=^√∑∫]/i],
  ["summarization", /\b(summari[sz]e|summary|tl;?dr|key points|condense)\b/i],
  ["extraction", /\b(extract|list all|find all|parse|pull out|json with)\b/i],
  ["creative", /\b(poem|story|haiku|lyrics|slogan|creative|imagine|fiction)\b/i],
  ["reasoning", /\b(why|explain|analy[sz]e|compare|trade-?offs?|step by step|reason|evaluate|plan)\b/i],
  ["qa", /\?\s*$|^(what|who|when|where|which|how)\b/i],
];

const DOMAIN_PATTERNS: [Domain, RegExp][] = [
  ["code", /```|\b(code|function|program|bug|compile|api|sql|python|javascript|typescript|kubernetes|docker)\b/i],
  ["math", /\b(equation|integral|derivative|theorem|algebra|geometry|probability|matrix)\b/i],
  ["legal", /\b(contract|clause|liabilit|statute|court|lawsuit|gdpr|legal|attorney)\b/i],
  ["medical", /\b(patient|diagnos|symptom|dose|clinical|disease|medication|treatment)\b/i],
  ["finance", /\b(revenue|invest|portfolio|interest rate|stock|bond|accounting|tax|ebitda)\b/i],
  ["science", /\b(physics|chemistry|biology|molecule|quantum|experiment|hypothesis|protein)\b/i],
];

const HARD_MARKERS =
  /\b(prove|derive|step by step|optimi[sz]e|complexity|edge cases?|trade-?offs?|rigorous|formal|multi-step|design|architecture|refactor|debug)\b/gi;
const EASY_MARKERS = /\b(hi|hello|thanks|thank you|translate|rephrase|spell|capital of|define|synonym)\b/gi;

export class HeuristicClassifier implements Classifier {
  readonly name = "heuristic";

  classify(input: ClassifyInput): Classification {
    const text = input.prompt;
    const task = TASK_PATTERNS.find(([, re]) => re.test(text))?.[0] ?? "chat";
    const domain = DOMAIN_PATTERNS.find(([, re]) => re.test(text))?.[0] ?? "general";
    const hard = text.match(HARD_MARKERS)?.length ?? 0;
    const easy = text.match(EASY_MARKERS)?.length ?? 0;
    // Longer prompts and more "hard" markers mean harder; a logistic squashes the sum into [0,1].
    const lengthSignal = Math.log10(1 + input.totalChars / 200);
    const z = -1.6 + 1.2 * lengthSignal + 0.7 * hard - 0.8 * easy + taskSignal(task);
    const difficulty = 1 / (1 + Math.exp(-z));
    // Keyword rules are unsure in the middle of the range.
    const confidence = Math.min(1, 0.4 + Math.abs(difficulty - 0.5) * 1.2);
    return { task, domain, difficulty, confidence, source: this.name };
  }
}

/** Maths, reasoning and code lean hard; chit-chat leans easy. */
function taskSignal(task: string): number {
  if (task === "math" || task === "reasoning" || task === "code") return 0.8;
  return task === "chat" ? -0.5 : 0;
}
