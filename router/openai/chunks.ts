/**
 * A chat completion as the stream chunks that would have carried it: per choice a role-and-content chunk (with
 * its tool calls), then a finish chunk. Used to replay an answer that was buffered (a cascade stage's) to a client
 * that asked for a stream.
 */
import { isRecord } from "../config/json.js";
import type { ChatCompletion, ChatCompletionChunk } from "./types.js";

export function completionChunks(completion: ChatCompletion): ChatCompletionChunk[] {
  const head = {
    id: completion.id,
    object: "chat.completion.chunk" as const,
    created: completion["created"] ?? Math.floor(Date.now() / 1000),
    model: completion.model,
  };
  const content = completion.choices.map((choice, i) => ({
    ...head,
    choices: [{ index: i, delta: delta(choice), finish_reason: null }],
  }));
  const finish = completion.choices.map((choice, i) => ({
    ...head,
    choices: [{ index: i, delta: {}, finish_reason: isRecord(choice) ? (choice["finish_reason"] ?? "stop") : "stop" }],
  }));
  return [...content, ...finish];
}

function delta(choice: unknown): Record<string, unknown> {
  const message = isRecord(choice) && isRecord(choice["message"]) ? choice["message"] : {};
  const out: Record<string, unknown> = { role: "assistant", content: message["content"] ?? "" };
  if (Array.isArray(message["tool_calls"]))
    out["tool_calls"] = (message["tool_calls"] as unknown[]).map((call, index): unknown =>
      isRecord(call) ? { index, ...call } : call,
    );
  if (typeof message["refusal"] === "string") out["refusal"] = message["refusal"];
  return out;
}
