/**
 * A mock OpenAI-compatible upstream over real HTTP: POST …/chat/completions, which covers both
 * {baseURL}/chat/completions and Azure's /openai/deployments/{d}/chat/completions?api-version=…, POST
 * …/embeddings (a fixed vector per input), and POST …/responses (the Responses API, JSON and streaming events:
 * openai-responses-mock.ts), answered like the chat completion the request stands for.
 * Replies are deterministic; a tool call is returned when tools are given and the last user message mentions
 * "tool" (or tool_choice forces one) and the conversation does not end with a tool result. A trailing assistant
 * message is answered anew, like OpenAI does, unless `prefill` is set (a server that continues it, like vLLM's
 * continue_final_message).
 *
 * The mock also plays the judge (router/evaluation/rubric.ts) deterministically: a request whose system prompt is
 * the rubric is answered with a verdict scoring each answer from a table keyed by the `[model]` tag its writer put
 * in front (MockBehaviour.tagModel), plus a position bias for the answer in position A, so swapping is observable;
 * or, in unparsable mode, with prose that is no verdict.
 */
import {
  continuation,
  defaultReply,
  MALFORMED_EVENTS,
  split,
  sse,
  startMockServer,
  textOf,
  tokens,
  trailingAssistant,
  wantsTool,
  type MockBehaviour,
  type MockHandle,
  type ProviderResponder,
} from "./mock-server.js";
import { isRecord } from "../../router/config/json.js";
import {
  ANSWER_A_END,
  ANSWER_A_START,
  ANSWER_B_END,
  ANSWER_B_START,
  JUDGE_SYSTEM_PROMPT,
} from "../../router/evaluation/rubric.js";

export type { FaultSetting, MockBehaviour, MockFaults, MockHandle, RecordedRequest } from "./mock-server.js";
import type { RecordedRequest } from "./mock-server.js";
import {
  chatOfResponses,
  isResponsesPath,
  responseFrames,
  responseObject,
  responsesErrorEvent,
  responsesMalformedEvent,
  unfinishedResponse,
  type Turn,
} from "./openai-responses-mock.js";

/** How the mock grades when it is asked to judge. */
export interface MockJudge {
  /** An answer's score (1–10) by the model tag it starts with (`[cheap-model] …` → scores["cheap-model"]). */
  scores: Record<string, number>;
  /** The score of an answer without a known tag. Default 5. */
  defaultScore?: number;
  /** Added to the score of the answer in position A (clamped to 10). Default 1. */
  positionBias?: number;
  /** Answer prose instead of a verdict. */
  unparsable?: boolean;
}

export interface OpenAIMockHandle extends MockHandle {
  /** Judge requests received so far. */
  judgeCalls(): RecordedRequest[];
  /** Changes how the mock judges (null: it answers judge requests like any other). */
  setJudge(judge: MockJudge | null): void;
}

export async function startOpenAIMock(options: MockBehaviour & { judge?: MockJudge } = {}): Promise<OpenAIMockHandle> {
  const state = { judge: options.judge ?? null };
  const handle = await startMockServer(openAIResponder(options, state), options);
  return {
    ...handle,
    judgeCalls: () => handle.requests.filter((r) => isJudgeRequest(r.body)),
    setJudge: (judge) => {
      state.judge = judge;
    },
  };
}

/** Whether a request body is a judge call (its system prompt is the rubric). */
export function isJudgeRequest(body: unknown): boolean {
  const messages = isRecord(body) && Array.isArray(body["messages"]) ? (body["messages"] as unknown[]) : [];
  const first = messages[0];
  return isRecord(first) && first["role"] === "system" && first["content"] === JUDGE_SYSTEM_PROMPT;
}

/** The verdict the mock judge gives a rubric request. */
function verdict(body: unknown, judge: MockJudge): string {
  if (judge.unparsable === true) return "Both answers are fine; I would not like to choose.";
  const messages = (body as { messages: { content: unknown }[] }).messages;
  const user = textOf(messages[1]?.content);
  const score = (start: string, end: string): number => {
    const answer = user.slice(user.indexOf(start) + start.length, user.indexOf(end)).trim();
    const tag = /^\[([^\]]+)\]/.exec(answer)?.[1];
    return (tag === undefined ? undefined : judge.scores[tag]) ?? judge.defaultScore ?? 5;
  };
  const a = Math.min(10, score(ANSWER_A_START, ANSWER_A_END) + (judge.positionBias ?? 1));
  return JSON.stringify({ score_a: a, score_b: score(ANSWER_B_START, ANSWER_B_END) });
}

function openAIResponder(options: MockBehaviour, state: { judge: MockJudge | null }): ProviderResponder {
  const reply = options.reply ?? defaultReply;
  const turn = (body: unknown): Turn => {
    const t = answer(body, reply, options);
    if (state.judge === null || !isJudgeRequest(body)) return t;
    const text = verdict(body, state.judge);
    return { ...t, text, tool: null, completionTokens: tokens(text) };
  };
  return {
    serves: (path) => /\/(chat\/completions|embeddings|responses)$/.test(path.split("?")[0] ?? ""),
    isStream: (body) => isRecord(body) && body["stream"] === true,
    complete: (body, path) => {
      if (isResponsesPath(path)) return responseObject(turn(chatOfResponses(body)), body);
      return isEmbeddingRequest(body) ? embeddings(body) : completion(turn(body), choiceCount(body));
    },
    streamFrames: (body, path) => {
      if (isResponsesPath(path))
        return { ...responseFrames(turn(chatOfResponses(body)), body, options.chunks ?? 5), terminator: [] };
      const { content, finish } = streamChunks(turn(body), body, options.chunks ?? 5);
      return { frames: content.map((c) => sse(c)), finish: finish.map((c) => sse(c)), terminator: [sse("[DONE]")] };
    },
    errorBody: (status, detail) =>
      JSON.stringify({
        error: {
          message: withDetail(`Mock error ${status}`, detail),
          type: status === 429 ? "rate_limit_error" : "server_error",
          param: null,
          code: null,
        },
      }),
    errorEvent: (detail, status, path) => {
      const message = withDetail("Mock mid-stream failure", detail);
      if (isResponsesPath(path)) return responsesErrorEvent(message, status);
      return sse({ error: { message, type: "server_error", code: status ?? null } });
    },
    malformedEvent: (index, path) => {
      if (isResponsesPath(path)) return responsesMalformedEvent(index);
      return index % MALFORMED_EVENTS.length === 3
        ? sse({ id: "chatcmpl-odd", object: "chat.completion.chunk" }) // a chunk without choices
        : (MALFORMED_EVENTS[index % MALFORMED_EVENTS.length] ?? "");
    },
    refusal: () => null,
    unfinished: (body, path) => {
      if (isResponsesPath(path)) return unfinishedResponse(turn(chatOfResponses(body)), body);
      const c = completion(turn(body)) as { choices: Record<string, unknown>[] };
      for (const choice of c.choices) delete choice["finish_reason"];
      return c;
    },
  };
}

function withDetail(message: string, detail: string | undefined): string {
  return detail === undefined ? message : `${message}; ${detail}`;
}

function answer(body: unknown, reply: (prompt: string) => string, options: MockBehaviour): Turn {
  const request = isRecord(body) ? body : {};
  const raw = request["messages"];
  const messages: unknown[] = Array.isArray(raw) ? (raw as unknown[]) : [];
  const last: unknown = messages[messages.length - 1];
  const lastUser = [...messages].reverse().find((m) => isRecord(m) && m["role"] === "user");
  const prompt = isRecord(lastUser) ? textOf(lastUser["content"]) : "";
  const afterTool = isRecord(last) && last["role"] === "tool";
  const forced = request["tool_choice"] === "required" || isRecord(request["tool_choice"]);
  const tool = !afterTool && wantsTool(request["tools"], prompt, forced) ? toolCall(request, prompt) : null;
  const prefill = options.prefill === true ? trailingAssistant(messages) : null;
  const model = typeof request["model"] === "string" ? request["model"] : "mock-model";
  const full = tool === null ? `${options.tagModel === true ? `[${model}] ` : ""}${reply(prompt)}` : "";
  const text = prefill === null ? full : continuation(full, prefill, options.prefillOverlapChars ?? 0);
  return {
    id: "chatcmpl-mock-" + String(prompt.length),
    model,
    text,
    tool,
    promptTokens: tokens(JSON.stringify(messages)),
    completionTokens: tokens(text + (tool?.arguments ?? "")),
    cached: options.cachedTokens ?? 0,
  };
}

function toolCall(request: Record<string, unknown>, prompt: string): Turn["tool"] {
  const tools = request["tools"] as unknown[];
  const choice = request["tool_choice"];
  const forcedName = isRecord(choice) && isRecord(choice["function"]) ? choice["function"]["name"] : undefined;
  const first = tools[0];
  const firstName = isRecord(first) && isRecord(first["function"]) ? first["function"]["name"] : undefined;
  const name = typeof forcedName === "string" ? forcedName : typeof firstName === "string" ? firstName : "tool";
  return { id: "call_mock_1", name, arguments: JSON.stringify({ query: prompt.slice(0, 40) }) };
}

function usage(t: Turn): Record<string, unknown> {
  return {
    prompt_tokens: t.promptTokens,
    completion_tokens: t.completionTokens,
    total_tokens: t.promptTokens + t.completionTokens,
    prompt_tokens_details: { cached_tokens: t.cached },
  };
}

/** An embeddings request has `input` and no `messages` (the mock serves both APIs from one responder). */
function isEmbeddingRequest(body: unknown): body is Record<string, unknown> {
  return isRecord(body) && "input" in body && !("messages" in body);
}

/** One vector per input, [0.6, 0.8, 0, …] of `dimensions` entries (default 3), usage 2 tokens per input. */
function embeddings(body: Record<string, unknown>): unknown {
  const input = body["input"];
  const items = Array.isArray(input) && typeof input[0] !== "number" ? input : [input];
  const dims = typeof body["dimensions"] === "number" ? body["dimensions"] : 3;
  const vector = Array.from({ length: dims }, (_, i) => (i === 0 ? 0.6 : i === 1 ? 0.8 : 0));
  const encode = (v: number[]) => {
    const bytes = Buffer.alloc(v.length * 4);
    v.forEach((x, i) => bytes.writeFloatLE(x, i * 4));
    return bytes.toString("base64");
  };
  const embedding = body["encoding_format"] === "base64" ? encode(vector) : vector;
  const data = items.map((_, index) => ({ object: "embedding", index, embedding }));
  const model = typeof body["model"] === "string" ? body["model"] : "mock-embedding";
  return { object: "list", data, model, usage: { prompt_tokens: 2 * items.length, total_tokens: 2 * items.length } };
}

/** The request's `n` (1 when absent): the mock answers that many identical choices, like OpenAI with a seed. */
function choiceCount(body: unknown): number {
  const n = isRecord(body) ? body["n"] : undefined;
  return typeof n === "number" && Number.isInteger(n) && n > 1 ? n : 1;
}

function completion(t: Turn, n = 1): unknown {
  const message: Record<string, unknown> = {
    role: "assistant",
    content: t.tool === null ? t.text : null,
    refusal: null,
  };
  if (t.tool !== null) {
    message["tool_calls"] = [
      { id: t.tool.id, type: "function", function: { name: t.tool.name, arguments: t.tool.arguments } },
    ];
  }
  return {
    id: t.id,
    object: "chat.completion",
    created: 1_700_000_000,
    model: t.model,
    choices: Array.from({ length: n }, (_, index) => ({
      index,
      message,
      logprobs: null,
      finish_reason: t.tool === null ? "stop" : "tool_calls",
    })),
    usage: usage({ ...t, completionTokens: t.completionTokens * n }),
  };
}

function streamChunks(t: Turn, body: unknown, n: number): { content: unknown[]; finish: unknown[] } {
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
    id: t.id,
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model: t.model,
    choices,
    ...extra,
  });
  const delta = (d: Record<string, unknown>, finish: string | null = null) =>
    chunk([{ index: 0, delta: d, logprobs: null, finish_reason: finish }]);
  const out: unknown[] = [delta({ role: "assistant", content: "" })];
  if (t.tool === null) {
    for (const piece of split(t.text, n)) out.push(delta({ content: piece }));
  } else {
    const start = { index: 0, id: t.tool.id, type: "function", function: { name: t.tool.name, arguments: "" } };
    out.push(delta({ tool_calls: [start] }));
    for (const piece of split(t.tool.arguments, 3))
      out.push(delta({ tool_calls: [{ index: 0, function: { arguments: piece } }] }));
  }
  const finish = [delta({}, t.tool === null ? "stop" : "tool_calls")];
  const options = isRecord(body) ? body["stream_options"] : undefined;
  if (isRecord(options) && options["include_usage"] === true) finish.push(chunk([], { usage: usage(t) }));
  return { content: out, finish };
}
