/**
 * Cascade (issue 14, FrugalGPT): the route's cheap stages answer first, one after the other, each answer checked by
 * the route's verifiers (router/verify); the first answer every verifier accepts is the client's. A stage that fails
 * or whose answer a verifier rejects escalates to the next; after the last stage the route's normal choice answers
 * (chat-completions.ts). Stages are always asked non-streaming: a stream's client gets the accepted answer replayed
 * as a stream, or the normal choice's live stream. Every stage's and judge call's tokens are billed to the request.
 */
import type { AttemptObserver, BilledAttempt } from "../accounting/request-record.js";
import { tokensFromUsage, type TokenCounts } from "../accounting/cost.js";
import type { CascadeConfig, ProviderConfig, Task } from "../config/types.js";
import type { ChatCompletion, ChatRequest } from "../openai/types.js";
import { answerOf } from "../verify/answer.js";
import { parseGrade, singleJudgeMessages } from "../verify/judge.js";
import { checkAnswer, type Check } from "../verify/run.js";
import type { Answer } from "../verify/types.js";
import { dispatchCompletion, type AttemptFailure, type DispatchContext, type DispatchDeps } from "./dispatch.js";

/** What the cascade tells the request record besides attempts. */
export interface CascadeObserver extends AttemptObserver {
  cascadeStage(provider: ProviderConfig, outcome: StageOutcome, verifier: string): void;
}

export type StageOutcome = "accepted" | "escalated" | "error";

export interface StageTrail {
  provider: ProviderConfig;
  outcome: StageOutcome;
  /** The verifier that rejected; `all` when accepted; `error` when the stage failed. */
  verifier: string;
  reason: string;
}

export interface CascadeInput {
  ctx: DispatchContext & { record: CascadeObserver };
  cascade: CascadeConfig;
  /** The stages to try, in order (already filtered to what this request can use). */
  stages: ProviderConfig[];
  /** The judge verifier's provider, or null. */
  judge: ProviderConfig | null;
  task: Task;
  promptChars: number;
}

export interface CascadeOutcome {
  /** The accepted stage's answer (as the client asked for it), or null when every stage escalated. */
  accepted: { provider: ProviderConfig; completion: ChatCompletion; failures: AttemptFailure[] } | null;
  /** Escalated stages' answers and judge calls, billed to the request (the accepted answer is not in here). */
  billed: BilledAttempt[];
  trail: StageTrail[];
}

export async function runCascade(deps: DispatchDeps, input: CascadeInput): Promise<CascadeOutcome> {
  const billed: BilledAttempt[] = [];
  const trail: StageTrail[] = [];
  for (const stage of input.stages) {
    if (input.ctx.lifetime.aborted) break;
    const step = await runStage(deps, input, stage, billed);
    trail.push(step.trail);
    input.ctx.record.cascadeStage(stage, step.trail.outcome, step.trail.verifier);
    if (step.accepted) return { accepted: step.accepted, billed, trail };
  }
  return { accepted: null, billed, trail };
}

type Step = { trail: StageTrail; accepted: CascadeOutcome["accepted"] };

async function runStage(deps: DispatchDeps, input: CascadeInput, stage: ProviderConfig, billed: BilledAttempt[]) {
  const { ctx, cascade } = input;
  const request = stageRequest(ctx.request, stage, cascade);
  const result = await dispatchCompletion(deps, { ...ctx, order: [stage], request });
  if (!result.ok) return step(stage, "error", "error", "upstream_error");
  const completion = result.value;
  const answer = answerOf(completion);
  let check = checkAnswer(cascade.verifiers, { request: ctx.request, answer, task: input.task }, cascade);
  if (check.accepted && cascade.verifiers.includes("judge") && input.judge)
    check = await judgeCheck(deps, input, input.judge, answer, billed);
  if (!check.accepted) {
    billed.push({ provider: stage, tokens: tokensOf(completion, input.promptChars) });
    return step(stage, "escalated", check.verifier, check.reason);
  }
  const accepted = { provider: stage, completion: clientView(completion, ctx.request), failures: result.failures };
  return { ...step(stage, "accepted", "all", "accepted"), accepted };
}

function step(provider: ProviderConfig, outcome: StageOutcome, verifier: string, reason: string): Step {
  return { trail: { provider, outcome, verifier, reason }, accepted: null };
}

/** The judge grades the answer alone; a failed call or an unparsable grade escalates (it never accepts). */
async function judgeCheck(
  deps: DispatchDeps,
  input: CascadeInput,
  judge: ProviderConfig,
  answer: Answer,
  billed: BilledAttempt[],
): Promise<Check> {
  const { ctx, cascade } = input;
  const text = answer.content !== "" ? answer.content : JSON.stringify(answer.toolCalls);
  const messages = singleJudgeMessages(ctx.request.messages, text);
  const request: ChatRequest = { model: judge.model, messages, temperature: 0, max_tokens: 20 };
  const result = await dispatchCompletion(deps, { ...ctx, order: [judge], request });
  if (!result.ok) return { accepted: false, verifier: "judge", reason: "judge_error" };
  billed.push({ provider: judge, tokens: tokensOf(result.value, JSON.stringify(messages).length) });
  const grade = parseGrade(answerOf(result.value).content);
  if (grade === null) return { accepted: false, verifier: "judge", reason: "judge_unparsable" };
  return grade >= cascade.judgeThreshold
    ? { accepted: true }
    : { accepted: false, verifier: "judge", reason: "low_grade" };
}

/** A stage is asked without streaming, and for logprobs when the logprobs verifier runs on an OpenAI-style API. */
export function stageRequest(request: ChatRequest, stage: ProviderConfig, cascade: CascadeConfig): ChatRequest {
  const { stream: _stream, stream_options: _options, ...rest } = request;
  const wantsLogprobs =
    cascade.verifiers.includes("logprobs") && (stage.type === "openai" || stage.type === "azure-openai");
  return wantsLogprobs && rest["logprobs"] === undefined ? { ...rest, logprobs: true } : rest;
}

/** The answer as the client asked for it: logprobs the cascade asked for on its own are dropped. */
function clientView(completion: ChatCompletion, request: ChatRequest): ChatCompletion {
  if (request["logprobs"] !== undefined) return completion;
  const choices = completion.choices.map((c) => {
    if (typeof c !== "object" || c === null) return c;
    const { logprobs: _logprobs, ...rest } = c as Record<string, unknown>;
    return rest;
  });
  return { ...completion, choices };
}

function tokensOf(completion: ChatCompletion, promptChars: number): TokenCounts {
  return tokensFromUsage(completion.usage, { promptChars, completionChars: JSON.stringify(completion.choices).length });
}

/** `cascade(stage=a, escalated by math; stage=b, accepted)` for x-routewise-decision. */
export function describeCascade(trail: readonly StageTrail[], buffered: boolean): string {
  const stages = trail.map((t) =>
    t.outcome === "accepted"
      ? `stage=${t.provider.id}, accepted`
      : `stage=${t.provider.id}, ${t.outcome === "error" ? "failed" : `escalated by ${t.verifier}`}`,
  );
  return `cascade(${buffered ? "buffered; " : ""}${stages.join("; ")})`;
}
