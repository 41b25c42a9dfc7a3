/**
 * The evaluator: judge samples off the request path (ADR 10). The chat handler hands it an answered request once
 * the client's response has ended; a sampled one waits in a bounded queue (overflow: failure `queue_full`) for one
 * of a few workers, which asks the other side's model the same request non-streaming, compares the answers
 * structurally, else asks the judge twice with the answers in swapped positions, and reports scores, failures and
 * spend to the evaluation record. Every call is priced at its provider's prices and counted against the route's
 * hourly cap.
 *
 * Evaluation calls go straight to the provider adapters, not through dispatch: they take no in-flight slot, count
 * in no token window and report nothing to the circuit breakers, so a failing judge or baseline never opens a
 * circuit that clients would then be refused by. They do not retry; a failed call is a failure sample.
 */
import type { EvaluationFailureReason, EvaluationRecorder } from "../accounting/evaluation-record.js";
import { costUSD, tokensFromUsage } from "../accounting/cost.js";
import type { ProviderConfig, ProviderType, RouteConfig } from "../config/types.js";
import type { ChatCompletion, ChatRequest } from "../openai/types.js";
import { redactSecrets } from "../providers/shared/redact.js";
import type { ProviderAdapter } from "../providers/types.js";
import { isSampled, planEvaluation, type EvaluationCase, type Plan } from "./plan.js";
import { judgeMessages, renderConversation } from "./rubric.js";
import { averageScores, EQUAL_SCORES, type SampleScores } from "./scores.js";
import { SpendCap } from "./spend-cap.js";
import { compareStructurally, type Answer } from "./structural.js";
import { answerOf as completionAnswer } from "../verify/answer.js";
import { parseVerdict, type Verdict } from "./verdict.js";
import type { PositionAgreement } from "../learn/evidence.js";
import { positionAgreement } from "../learn/learner.js";

export const DEFAULT_QUEUE_CAPACITY = 256;
export const DEFAULT_CONCURRENCY = 2;
/** The judge's verdict is a short JSON object. */
const JUDGE_MAX_TOKENS = 100;

export interface EvaluatorDeps {
  adapters: Record<ProviderType, ProviderAdapter>;
  /** The API key for a credential key, or null. */
  credential: (key: string | null) => string | null;
  /** The providers of the config in force (the judge is looked up here). */
  providers: () => ReadonlyMap<string, ProviderConfig>;
  record: EvaluationRecorder;
  /** Wall clock in ms (the spend cap's clock hour). */
  now: () => number;
  /** Sampled requests waiting at most (default DEFAULT_QUEUE_CAPACITY). */
  capacity?: number;
  /** Evaluations running at once (default DEFAULT_CONCURRENCY). */
  concurrency?: number;
}

/** A sample that ends without scores. */
class EvaluationFailure extends Error {
  constructor(
    readonly reason: EvaluationFailureReason,
    message: string,
  ) {
    super(message);
  }
}

interface Job {
  c: EvaluationCase;
  plan: Extract<Plan, { kind: "call" }>;
}

export class Evaluator {
  private readonly queue: Job[] = [];
  private running = 0;
  private readonly cap = new SpendCap();
  private readonly pausedState = new Map<string, boolean>();
  private readonly abort = new AbortController();

  constructor(private readonly deps: EvaluatorDeps) {}

  /** An answered request whose client response has ended. Never throws, never waits. */
  consider(c: EvaluationCase): void {
    if (this.abort.signal.aborted || !isSampled(c)) return;
    const plan = planEvaluation(c);
    if (this.pausedNow(c.route) || plan.kind === "skip") {
      this.deps.record.skipped(c.requestId);
      return;
    }
    if (plan.kind === "equal") {
      this.deps.record.sample(c.route.name, plan.model, EQUAL_SCORES, c.requestId);
      return;
    }
    if (this.queue.length >= (this.deps.capacity ?? DEFAULT_QUEUE_CAPACITY)) {
      this.deps.record.failure(c.route.name, "queue_full", c.requestId);
      return;
    }
    this.queue.push({ c, plan });
    setImmediate(() => {
      this.pump();
    });
  }

  /** A config is in force: the paused gauge of each evaluated route; other routes forgotten. */
  configure(routes: readonly RouteConfig[]): void {
    const evaluated = routes.filter((r) => r.evaluation);
    this.cap.retain(new Set(evaluated.map((r) => r.name)));
    this.pausedState.clear();
    const now = this.deps.now();
    for (const r of evaluated) this.pausedState.set(r.name, this.cap.paused(r.name, now, capOf(r)));
    this.deps.record.pausedRoutes(this.pausedState);
  }

  /** Drops what waits and aborts what runs (shutdown). */
  stop(): void {
    this.queue.length = 0;
    this.abort.abort(new Error("router stopping"));
  }

  /** Whether the spend cap pauses the route now; the gauge follows every change (a new hour resumes). */
  private pausedNow(route: RouteConfig): boolean {
    const paused = this.cap.paused(route.name, this.deps.now(), capOf(route));
    this.setPaused(route.name, paused);
    return paused;
  }

  private setPaused(route: string, paused: boolean): void {
    if (this.pausedState.get(route) === paused) return;
    this.pausedState.set(route, paused);
    this.deps.record.paused(route, paused);
  }

  private pump(): void {
    const concurrency = this.deps.concurrency ?? DEFAULT_CONCURRENCY;
    while (this.running < concurrency && this.queue.length > 0) {
      const job = this.queue.shift() as Job;
      this.running++;
      void this.run(job).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async run({ c, plan }: Job): Promise<void> {
    try {
      const other = await this.otherSide(c, plan.provider, plan.side);
      const [routed, baseline] = plan.side === "baseline" ? [c.answer, other] : [other, c.answer];
      const model = plan.side === "baseline" ? c.answered.model : plan.provider.model;
      if (compareStructurally(routed, baseline, c.jsonMode) === "equal")
        this.deps.record.sample(c.route.name, model, EQUAL_SCORES, c.requestId);
      else {
        const { scores, agreement } = await this.judge(c, routed, baseline);
        this.deps.record.sample(c.route.name, model, scores, c.requestId, agreement);
      }
    } catch (err) {
      const failure =
        err instanceof EvaluationFailure
          ? err
          : new EvaluationFailure("judge_error", `unexpected: ${err instanceof Error ? err.message : String(err)}`);
      this.deps.record.failure(c.route.name, failure.reason, c.requestId, failure.message);
    }
  }

  /** The same request, non-streaming, on the other side's model. */
  private async otherSide(c: EvaluationCase, provider: ProviderConfig, side: "baseline" | "routed"): Promise<Answer> {
    const request = sameRequest(c.request, provider);
    const reason = side === "baseline" ? "baseline_error" : "routed_error";
    return answerOf(await this.call(c.route, provider, request, c.requestId, reason));
  }

  /** Both judge calls (routed in position A, then in B), the two-position average and how the two agree. */
  private async judge(
    c: EvaluationCase,
    routed: Answer,
    baseline: Answer,
  ): Promise<{ scores: SampleScores; agreement: PositionAgreement }> {
    const judgeId = c.route.evaluation?.judge ?? "";
    const judge = this.deps.providers().get(judgeId);
    if (!judge) throw new EvaluationFailure("judge_error", `the judge provider ${judgeId} is not in the config`);
    const conversation = renderConversation(c.request.messages);
    const first = await this.verdict(c, judge, judgeMessages(conversation, judgeText(routed), judgeText(baseline)));
    const second = await this.verdict(c, judge, judgeMessages(conversation, judgeText(baseline), judgeText(routed)));
    return { scores: averageScores(first, second), agreement: positionAgreement(first, second) };
  }

  private async verdict(c: EvaluationCase, judge: ProviderConfig, messages: ChatRequest["messages"]): Promise<Verdict> {
    const request: ChatRequest = { model: judge.model, messages, temperature: 0, max_tokens: JUDGE_MAX_TOKENS };
    const body = await this.call(c.route, judge, request, c.requestId, "judge_error");
    const verdict = parseVerdict(answerOf(body).text);
    if (verdict === null)
      throw new EvaluationFailure("unparsable_verdict", `the judge ${judge.id} answered no verdict`);
    return verdict;
  }

  /** One priced call; a failure becomes `reason` with a redacted message. */
  private async call(
    route: RouteConfig,
    provider: ProviderConfig,
    request: ChatRequest,
    requestId: string,
    reason: EvaluationFailureReason,
  ): Promise<ChatCompletion> {
    const apiKey = this.deps.credential(provider.credentialKey);
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(route.timeouts.requestMs)]);
    let body: ChatCompletion;
    try {
      const caBundle = this.deps.credential(provider.egress?.caKey ?? null);
      const options = { signal, apiKey, caBundle, requestId };
      body = (await this.deps.adapters[provider.type].complete(provider, request, options)).body;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new EvaluationFailure(reason, `${provider.id}: ${redactSecrets(message, [apiKey])}`);
    }
    const completionChars = JSON.stringify(body.choices).length;
    const tokens = tokensFromUsage(body.usage, {
      promptChars: JSON.stringify(request.messages).length,
      completionChars,
    });
    this.spend(route, costUSD(tokens, provider.pricing));
    return body;
  }

  private spend(route: RouteConfig, usd: number): void {
    const now = this.deps.now();
    this.cap.add(route.name, now, usd);
    this.deps.record.cost(route.name, usd);
    this.setPaused(route.name, this.cap.paused(route.name, now, capOf(route)));
  }
}

function capOf(route: RouteConfig): number | null {
  return route.evaluation?.maxCostPerHourUSD ?? null;
}

/** The client's request for another model: non-streaming, no stream options. */
function sameRequest(request: ChatRequest, provider: ProviderConfig): ChatRequest {
  const { stream_options: _options, ...rest } = request;
  return { ...rest, model: provider.model, stream: false };
}

/** Choice 0's text and tool calls. */
export function answerOf(body: ChatCompletion): Answer {
  const { content, toolCalls } = completionAnswer(body);
  return { text: content, toolCalls };
}

/** An answer as the judge reads it: the text, then each tool call. */
function judgeText(a: Answer): string {
  const calls = a.toolCalls.map((t) => `[tool call] ${t.name}(${t.arguments})`);
  return [a.text, ...calls].filter((s) => s !== "").join("\n");
}
