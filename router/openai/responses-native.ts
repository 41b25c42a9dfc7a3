/**
 * The OpenAI Responses API as an upstream speaks it natively (ModelProvider capabilities.responses): the client's
 * request as that upstream gets it, what a response object and a stream of response events tell the router (usage
 * for cost accounting, the answer for judge sampling, the output size for the estimate when there is no usage), and
 * the `response.failed` event the router ends a broken stream with. Pure; the adapter (router/providers/openai/
 * responses.ts) checks what arrives, the HTTP layer relays it.
 */
import { isRecord } from "../config/json.js";
import type { JsonObject, Usage } from "./types.js";

/** One upstream stream event: its type, the parsed event and its `data:` text as it arrived (relayed as is). */
export interface ResponsesEvent {
  type: string;
  value: JsonObject;
  data: string;
}

/** Events that end a stream with an answer (`response.failed` and `error` end it with a failure). */
export const TERMINAL_EVENTS: ReadonlySet<string> = new Set(["response.completed", "response.incomplete"]);

/** Events that come before any of the answer; a stream is committed at the first event that is none of these. */
const PRELUDE_EVENTS: ReadonlySet<string> = new Set(["response.created", "response.in_progress", "response.queued"]);

/** Whether an event carries (part of) the answer, so the stream is committed to the client with it. */
export function isAnswerEvent(e: ResponsesEvent): boolean {
  return !PRELUDE_EVENTS.has(e.type);
}

/**
 * The request for an upstream that speaks the Responses API: the client's body with the provider's model. The
 * router keeps no state (stateful parameters are refused before routing), so it asks the upstream not to store
 * the response either (`store: false`, which OpenAI otherwise defaults to true). Everything else, `stream`
 * among it, is the client's.
 */
export function nativeRequestOf(body: JsonObject, model: string): JsonObject {
  return { ...body, model, store: false };
}

/** A Responses `usage` (input_tokens, output_tokens, input_tokens_details.cached_tokens) as chat usage, or null. */
export function usageOfResponse(response: unknown): Usage | null {
  const usage = isRecord(response) ? response["usage"] : undefined;
  if (!isRecord(usage)) return null;
  const input = usage["input_tokens"];
  const output = usage["output_tokens"];
  if (!isCount(input) || !isCount(output)) return null;
  const total = usage["total_tokens"];
  const details = usage["input_tokens_details"];
  const cached = isRecord(details) ? details["cached_tokens"] : undefined;
  return {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: isCount(total) ? total : input + output,
    ...(isCount(cached) ? { prompt_tokens_details: { cached_tokens: cached } } : {}),
  };
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v) && v >= 0;
}

export interface ResponseAnswer {
  /** The output_text (and refusal) parts of the message items, in order. */
  text: string;
  toolCalls: { name: string; arguments: string }[];
}

/** A response object's answer: its message items' text and its function calls. */
export function answerOfResponse(response: unknown): ResponseAnswer {
  const output = isRecord(response) && Array.isArray(response["output"]) ? (response["output"] as unknown[]) : [];
  const answer: ResponseAnswer = { text: "", toolCalls: [] };
  for (const item of output) {
    if (!isRecord(item)) continue;
    if (item["type"] === "message") answer.text += messageText(item["content"]);
    else if (item["type"] === "function_call") answer.toolCalls.push(functionCall(item));
  }
  return answer;
}

/** Characters of an answer (text and tool calls), for the token estimate when the upstream sent no usage. */
export function answerChars(a: ResponseAnswer): number {
  return a.text.length + a.toolCalls.reduce((n, c) => n + c.name.length + c.arguments.length, 0);
}

function messageText(content: unknown): string {
  if (!Array.isArray(content)) return "";
  return content
    .map((part: unknown) => {
      if (!isRecord(part)) return "";
      if (part["type"] === "output_text" && typeof part["text"] === "string") return part["text"];
      return part["type"] === "refusal" && typeof part["refusal"] === "string" ? part["refusal"] : "";
    })
    .join("");
}

function functionCall(item: JsonObject): { name: string; arguments: string } {
  return {
    name: typeof item["name"] === "string" ? item["name"] : "",
    arguments: typeof item["arguments"] === "string" ? item["arguments"] : "",
  };
}

/**
 * What a relayed stream has said so far: the latest response snapshot (response.created … the terminal event),
 * the answer assembled from the deltas, and the last sequence number (the router's own response.failed follows it).
 */
export class ResponseEventTally {
  private response: JsonObject | null = null;
  private lastSequence = -1;
  private text = "";
  /** Function calls by item id, in the order they were added. */
  private readonly calls = new Map<string, { name: string; arguments: string }>();

  observe(e: ResponsesEvent): void {
    const { value } = e;
    const seq = value["sequence_number"];
    if (typeof seq === "number" && Number.isInteger(seq)) this.lastSequence = Math.max(this.lastSequence, seq);
    if (isRecord(value["response"])) this.response = value["response"];
    const delta = typeof value["delta"] === "string" ? value["delta"] : "";
    switch (e.type) {
      case "response.output_text.delta":
      case "response.refusal.delta":
        this.text += delta;
        break;
      case "response.output_item.added":
      case "response.output_item.done":
        this.item(value["item"]);
        break;
      case "response.function_call_arguments.delta":
        this.argumentsDelta(value["item_id"], delta);
        break;
    }
  }

  /** The usage of the terminal event's response (null before it, or when it had none). */
  usage(): Usage | null {
    return usageOfResponse(this.response);
  }

  /** The answer as the client received it. */
  answer(): ResponseAnswer {
    return { text: this.text, toolCalls: [...this.calls.values()].map((c) => ({ ...c })) };
  }

  /**
   * The event that ends a stream which broke after it began: `response.failed` with the response so far (the
   * upstream's id and model) and the error, numbered after the last event relayed.
   */
  failed(code: string, message: string): JsonObject {
    const response = { ...(this.response ?? { object: "response", output: [] }), status: "failed" };
    return {
      type: "response.failed",
      sequence_number: this.lastSequence + 1,
      response: { ...response, error: { code, message } },
    };
  }

  private argumentsDelta(itemId: unknown, delta: string): void {
    const call = typeof itemId === "string" ? this.calls.get(itemId) : undefined;
    if (call) call.arguments += delta;
  }

  private item(item: unknown): void {
    if (!isRecord(item) || item["type"] !== "function_call" || typeof item["id"] !== "string") return;
    const call = this.calls.get(item["id"]) ?? { name: "", arguments: "" };
    if (typeof item["name"] === "string") call.name = item["name"];
    // The done event carries the whole arguments; the added one carries none (or the same).
    if (typeof item["arguments"] === "string" && item["arguments"].length >= call.arguments.length)
      call.arguments = item["arguments"];
    this.calls.set(item["id"], call);
  }
}
